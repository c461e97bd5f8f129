//! The facade's calls and devices: intents handed to the call task ([`crate::call_shell`]).

use natter_protocol::UserId;

use super::{Client, ClientError};

impl Client {
    /// Calls a user; the call's progress arrives as `ClientEvent::Call`.
    pub async fn place_call(
        &self,
        callee: UserId,
        kind: natter_protocol::CallKind,
    ) -> Result<natter_protocol::CallId, ClientError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.calls
            .intents
            .send(crate::call_shell::Intent::Place {
                callee,
                kind,
                reply,
            })
            .map_err(|_| ClientError::Stopped)?;
        answer
            .await
            .map_err(|_| ClientError::Stopped)?
            .map_err(|error| ClientError::Invalid(error.to_string()))
    }

    async fn call_input(&self, input: crate::call_machine::Input) -> Result<(), ClientError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.calls
            .intents
            .send(crate::call_shell::Intent::Input { input, reply })
            .map_err(|_| ClientError::Stopped)?;
        answer
            .await
            .map_err(|_| ClientError::Stopped)?
            .map_err(|error| ClientError::Invalid(error.to_string()))
    }

    /// Switches the call in progress to this camera, microphone or speaker, for this call
    /// (outside a call, nothing). A device that cannot be opened is an error and changes
    /// nothing.
    pub async fn use_device(
        &self,
        choice: crate::call_shell::DeviceChoice,
    ) -> Result<(), ClientError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.calls
            .intents
            .send(crate::call_shell::Intent::UseDevice { choice, reply })
            .map_err(|_| ClientError::Stopped)?;
        Ok(answer.await.map_err(|_| ClientError::Stopped)??)
    }

    /// The cameras, microphones and speakers that can be picked (the system's and the
    /// synthetic ones).
    pub async fn devices(&self) -> natter_media::devices::DeviceList {
        tokio::task::spawn_blocking(natter_media::devices::list)
            .await
            .unwrap_or_default()
    }

    /// Takes the call ringing here.
    /// Answers the ringing call; `camera_on: false` answers a video call by voice (the camera
    /// does not open until it is turned on).
    pub async fn accept_call(&self, camera_on: bool) -> Result<(), ClientError> {
        self.call_input(crate::call_machine::Input::Accept { camera_on })
            .await
    }

    pub async fn decline_call(&self) -> Result<(), ClientError> {
        self.call_input(crate::call_machine::Input::Decline).await
    }

    /// Cancels, declines or hangs up the current call, whatever its phase.
    pub async fn hang_up(&self) -> Result<(), ClientError> {
        self.call_input(crate::call_machine::Input::Hangup).await
    }

    pub async fn set_muted(&self, muted: bool) -> Result<(), ClientError> {
        self.call_input(crate::call_machine::Input::SetMuted(muted))
            .await
    }

    pub async fn set_camera(&self, on: bool) -> Result<(), ClientError> {
        self.call_input(crate::call_machine::Input::SetCamera(on))
            .await
    }

    /// The current (or last) call.
    pub fn call(&self) -> Option<crate::call_machine::CallView> {
        self.calls.view.borrow().clone()
    }
}
