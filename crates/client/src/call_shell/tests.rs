//! The call task with a real media session but no server: the test plays the server's frames
//! and reads the frames the task sends and the views it shows.

use std::sync::Arc;

use natter_protocol::CallInfo;
use uuid::Uuid;

use super::*;

const ME: UserId = Uuid::from_u128(1);
const BOB: UserId = Uuid::from_u128(2);
const CALL: CallId = Uuid::from_u128(0x100);
/// Long enough for a media session to start on a loaded machine.
const WAIT: Duration = Duration::from_secs(20);

/// An API whose server is gone: the task gets no ICE servers and goes on without.
fn api_without_server() -> Api {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("a URL");
    Api::new(url).expect("an API client")
}

struct Harness {
    task: CallTask,
    sent: mpsc::UnboundedReceiver<ClientFrame>,
    _status: watch::Sender<ConnectionStatus>,
}

/// A call task on a machine without a camera (or microphone).
fn without_camera() -> Harness {
    let settings = CallSettings {
        udp_bind: vec!["127.0.0.1:0".into()],
        mdns: false,
        devices: Arc::new(|_| Devices::default()),
        ..CallSettings::default()
    };
    let (status_tx, status) = watch::channel(ConnectionStatus::Online);
    let (sent_tx, sent) = mpsc::unbounded_channel();
    let task = spawn(
        api_without_server(),
        settings,
        status,
        move |frame| sent_tx.send(frame).is_ok(),
        |_| {},
    );
    Harness {
        task,
        sent,
        _status: status_tx,
    }
}

impl Harness {
    async fn input(&self, input: Input) -> Result<(), CallError> {
        let (reply, answer) = oneshot::channel();
        self.task
            .intents
            .send(Intent::Input { input, reply })
            .expect("the call task runs");
        answer.await.expect("the call task answers")
    }

    fn frame(&self, frame: ServerFrame) {
        self.task.frames.send(frame).expect("the call task runs");
    }

    /// Waits (at most [`WAIT`]) for the view to satisfy `wanted`.
    async fn until_view(&mut self, what: &str, wanted: impl Fn(&CallView) -> bool) -> CallView {
        let mut view = self.task.view.clone();
        let found = tokio::time::timeout(
            WAIT,
            view.wait_for(|view| view.as_ref().is_some_and(&wanted)),
        )
        .await;
        match found {
            Ok(Ok(view)) => view.clone().expect("a call"),
            _ => panic!(
                "{what}: not within {WAIT:?}; the call is {:?}",
                self.task.view.borrow()
            ),
        }
    }

    /// Waits (at most [`WAIT`]) for a sent frame that satisfies `wanted`.
    async fn until_sent(
        &mut self,
        what: &str,
        wanted: impl Fn(&ClientFrame) -> bool,
    ) -> ClientFrame {
        let mut seen = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            while let Some(frame) = self.sent.recv().await {
                if wanted(&frame) {
                    return Some(frame);
                }
                seen.push(frame);
            }
            None
        })
        .await;
        match found {
            Ok(Some(frame)) => frame,
            _ => panic!("{what}: not sent within {WAIT:?}; sent {seen:?}"),
        }
    }

    /// The frames sent so far that satisfy `wanted`, without waiting.
    fn sent_now(&mut self, wanted: impl Fn(&ClientFrame) -> bool) -> Vec<ClientFrame> {
        std::iter::from_fn(|| self.sent.try_recv().ok())
            .filter(|frame| wanted(frame))
            .collect()
    }
}

fn camera_news(frame: &ClientFrame) -> Option<bool> {
    match frame {
        ClientFrame::CallMedia { camera_on, .. } => Some(*camera_on),
        _ => None,
    }
}

/// Issue 14: answering "Video" on a machine without a camera went on with the call, but my
/// view said the camera was on (so the screen offered to turn it off) and the peer was never
/// told otherwise, while no picture came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_call_answered_without_a_camera_goes_on_with_the_camera_off() {
    let mut harness = without_camera();
    harness.frame(ServerFrame::CallIncoming {
        call: CallInfo {
            call_id: CALL,
            caller_id: BOB,
            callee_id: ME,
            kind: CallKind::Video,
            started_at: 0,
        },
    });
    harness
        .until_view("the call ringing", |view| view.phase == Phase::Incoming)
        .await;
    harness
        .input(Input::Accept { camera_on: true })
        .await
        .expect("answered");
    harness.frame(ServerFrame::CallAccepted {
        call_id: CALL,
        by_session_id: Uuid::from_u128(9),
    });

    // The peer is told the truth, and my view says it too.
    let told = harness
        .until_sent("call_media with my camera off", |frame| {
            camera_news(frame) == Some(false)
        })
        .await;
    assert_eq!(
        told,
        ClientFrame::CallMedia {
            call_id: CALL,
            muted: false,
            camera_on: false,
        }
    );
    let view = harness
        .until_view("my camera shown off", |view| !view.camera_on)
        .await;
    assert_eq!(view.phase, Phase::Connecting, "the call goes on: {view:?}");

    // Turning it on tries again; with still no camera it says so and changes nothing.
    let turned_on = harness.input(Input::SetCamera(true)).await;
    assert_eq!(turned_on, Err(CallError::NoCamera));
    let view = harness.task.view.borrow().clone().expect("a call");
    assert!(!view.camera_on, "{view:?}");
    assert_ne!(view.phase, Phase::Ended, "{view:?}");
    assert_eq!(
        harness.sent_now(|frame| camera_news(frame) == Some(true)),
        [],
        "the peer was told my camera is on"
    );
}
