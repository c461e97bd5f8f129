//! Files and pictures (protocol 3.9): tus uploads that resume, attachments on messages,
//! downloads only for members, pictures read from their bytes, files deleted with their last
//! message.

use base64::Engine;
use natter_protocol::{Attachment, Conversation, Message};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::harness::{Backend, Client, TestServer};

crate::on_both_backends!(
    a_file_goes_up_in_pieces_resumes_and_comes_down_to_members_only,
    limits_quota_and_protocol_errors_are_clear,
    pictures_are_read_from_their_bytes_and_lose_their_metadata,
    the_same_file_is_stored_once_and_goes_with_its_last_message,
    abandoned_uploads_and_unsent_files_are_swept,
);

/// A tus request with the protocol header and the user's token.
fn tus(client: &Client, method: Method, path: &str) -> reqwest::RequestBuilder {
    client
        .http
        .client
        .request(method, format!("{}{path}", client.server_url))
        .bearer_auth(&client.token)
        .header("Tus-Resumable", "1.0.0")
}

fn metadata(name: &str, kind: &str) -> String {
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    format!("filename {},filetype {}", encode(name), encode(kind))
}

/// Starts an upload; answers its path.
async fn create(client: &Client, length: usize, name: &str, kind: &str) -> reqwest::Response {
    tus(client, Method::POST, "/api/uploads")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata(name, kind))
        .send()
        .await
        .expect("the server answers")
}

async fn location(client: &Client, length: usize, name: &str, kind: &str) -> String {
    let response = create(client, length, name, kind).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .expect("a Location")
        .to_owned()
}

async fn patch(client: &Client, path: &str, offset: usize, bytes: &[u8]) -> reqwest::Response {
    tus(client, Method::PATCH, path)
        .header("Upload-Offset", offset.to_string())
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("the server answers")
}

fn offset_of(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("Upload-Offset")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn upload(client: &Client, bytes: &[u8], name: &str, kind: &str) -> String {
    let path = location(client, bytes.len(), name, kind).await;
    let response = patch(client, &path, 0, bytes).await;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        response.text().await
    );
    path.rsplit('/').next().expect("an id").to_owned()
}

async fn send_files(
    client: &Client,
    conversation: &Conversation,
    body: &str,
    ids: &[&str],
) -> Message {
    client
        .ok(
            Method::POST,
            &format!("/api/conversations/{}/messages", conversation.id),
            Some(json!({"client_id": uuid::Uuid::now_v7(), "body": body, "attachments": ids})),
        )
        .await
}

async fn fetch(client: &Client, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = client
        .http
        .client
        .get(format!("{}{url}", client.server_url))
        .bearer_auth(&client.token);
    if let Some(range) = range {
        request = request.header(header::RANGE, range);
    }
    request.send().await.expect("the server answers")
}

fn content(length: usize) -> Vec<u8> {
    (0..length).map(|index| (index * 7 % 251) as u8).collect()
}

async fn a_file_goes_up_in_pieces_resumes_and_comes_down_to_members_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob, carol) = (
        server.user("alice").await,
        server.user("bob").await,
        server.user("carol").await,
    );
    let conversation = alice.direct_with(&bob).await;

    let options = tus(&alice, Method::OPTIONS, "/api/uploads")
        .send()
        .await
        .expect("answers");
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(options.headers()["Tus-Version"], "1.0.0");
    assert_eq!(options.headers()["Tus-Max-Size"], "104857600");

    let bytes = content(300_000);
    let path = location(
        &alice,
        bytes.len(),
        "quarterly report.pdf",
        "application/pdf",
    )
    .await;
    let first = patch(&alice, &path, 0, &bytes[..100_000]).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&first), Some(100_000));

    // A piece sent from the wrong place is refused, nothing read; HEAD says where to resume.
    let wrong = patch(&alice, &path, 50_000, &bytes[50_000..]).await;
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    let error: serde_json::Value = wrong.json().await.expect("an error body");
    assert_eq!(error["error"]["code"], "offset_mismatch");
    let head = tus(&alice, Method::HEAD, &path)
        .send()
        .await
        .expect("answers");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(offset_of(&head), Some(100_000));
    assert_eq!(head.headers()["Upload-Length"], "300000");
    let theirs = tus(&bob, Method::HEAD, &path)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        theirs.status(),
        StatusCode::NOT_FOUND,
        "someone else's upload is unknown"
    );

    let rest = patch(&alice, &path, 100_000, &bytes[100_000..]).await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&rest), Some(300_000));
    let id = path.rsplit('/').next().expect("an id");

    // A message of the file alone.
    let sent = send_files(&alice, &conversation, "", &[id]).await;
    let attachment: &Attachment = sent.attachments.first().expect("the file is attached");
    assert_eq!(
        (
            attachment.name.as_str(),
            attachment.content_type.as_str(),
            attachment.size
        ),
        ("quarterly report.pdf", "application/pdf", 300_000)
    );
    assert_eq!(attachment.image, None);
    assert_eq!(attachment.url, format!("/api/attachments/{id}"));

    let whole = fetch(&bob, &attachment.url, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .is_ok_and(|value| value.starts_with("attachment;") && value.contains("quarterly")),
        "{headers:?}"
    );
    assert_eq!(
        whole.bytes().await.expect("the bytes").as_ref(),
        bytes.as_slice()
    );

    let part = fetch(&bob, &attachment.url, Some("bytes=1000-1009")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        "bytes 1000-1009/300000"
    );
    assert_eq!(
        part.bytes().await.expect("bytes").as_ref(),
        &bytes[1000..1010]
    );
    let outside = fetch(&bob, &attachment.url, Some("bytes=400000-")).await;
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    assert_eq!(
        fetch(&carol, &attachment.url, None).await.status(),
        StatusCode::NOT_FOUND,
        "not a member: as if it did not exist"
    );
    // A file goes with one message only.
    let (status, error) = alice
        .call(
            Method::POST,
            &format!("/api/conversations/{}/messages", conversation.id),
            Some(json!({"client_id": uuid::Uuid::now_v7(), "body": "again", "attachments": [id]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    // History carries it.
    let history: natter_protocol::MessagePage = bob
        .ok(
            Method::GET,
            &format!("/api/conversations/{}/messages", conversation.id),
            None,
        )
        .await;
    assert_eq!(
        history.messages.last().map(|m| m.attachments.len()),
        Some(1)
    );
}

async fn limits_quota_and_protocol_errors_are_clear(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.max_file_bytes = 1_000;
        config.user_quota_bytes = 1_500;
    })
    .await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);

    let over = create(&alice, 1_001, "big.bin", "").await;
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: serde_json::Value = over.json().await.expect("an error body");
    assert_eq!(error["error"]["code"], "payload_too_large");

    let path = location(&alice, 1_000, "fits.bin", "").await;
    let quota = create(&alice, 600, "more.bin", "").await;
    assert_eq!(quota.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: serde_json::Value = quota.json().await.expect("an error body");
    assert_eq!(error["error"]["code"], "quota_exceeded", "{error}");
    // Abandoning the upload frees the quota.
    let gone = tus(&alice, Method::DELETE, &path)
        .send()
        .await
        .expect("answers");
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let small = location(&alice, 10, "small.bin", "").await;

    let too_many = patch(&alice, &small, 0, &[1; 20]).await;
    assert_eq!(too_many.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let no_version = alice
        .http
        .client
        .post(format!("{}/api/uploads", alice.server_url))
        .bearer_auth(&alice.token)
        .header("Upload-Length", "5")
        .header("Upload-Metadata", metadata("a.txt", "text/plain"))
        .send()
        .await
        .expect("answers");
    assert_eq!(no_version.status(), StatusCode::PRECONDITION_FAILED);
    let wrong_type = tus(&alice, Method::PATCH, &small)
        .header("Upload-Offset", "0")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let unnamed = tus(&alice, Method::POST, "/api/uploads")
        .header("Upload-Length", "5")
        .send()
        .await
        .expect("answers");
    assert_eq!(unnamed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        patch(&bob, &small, 0, &[1; 10]).await.status(),
        StatusCode::NOT_FOUND,
        "another user's upload"
    );
    assert_eq!(
        patch(&alice, "/api/uploads/not-an-id", 0, &[1])
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        patch(
            &alice,
            &format!("/api/uploads/{}", uuid::Uuid::now_v7()),
            0,
            &[1]
        )
        .await
        .status(),
        StatusCode::NOT_FOUND,
        "an unknown upload"
    );
}

/// A JPEG whose EXIF says "turn it a quarter clockwise" (orientation 6) and carries a GPS
/// block with a recognisable marker.
fn photo_with_exif(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 9) as u8, 128])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture)
        .expect("a JPEG");
    // TIFF, little endian: one IFD with Orientation = 6 and an ImageDescription holding the
    // marker the stored file must not contain.
    let marker = b"GPS-SECRET-47.3769N\0";
    let mut tiff: Vec<u8> = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&6u32.to_le_bytes());
    tiff.extend_from_slice(&0x010eu16.to_le_bytes()); // ImageDescription
    tiff.extend_from_slice(&2u16.to_le_bytes()); // ASCII
    tiff.extend_from_slice(&(marker.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&(8 + 2 + 2 * 12 + 4u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff.extend_from_slice(marker);
    let mut with_exif = img_parts::jpeg::Jpeg::from_bytes(jpeg.into()).expect("our JPEG parses");
    img_parts::ImageEXIF::set_exif(&mut with_exif, Some(tiff.into()));
    with_exif.encoder().bytes().to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn pictures_are_read_from_their_bytes_and_lose_their_metadata(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;

    let photo = photo_with_exif(40, 20);
    assert!(contains(&photo, b"GPS-SECRET"));
    // Claimed as a plain file: its bytes say JPEG.
    let id = upload(&alice, &photo, "IMG_0001.JPG", "application/octet-stream").await;
    // Finished, it stands at the length it declared (though stored smaller), and the last piece
    // sent again (its answer lost) changes nothing.
    let path = format!("/api/uploads/{id}");
    let head = tus(&alice, Method::HEAD, &path)
        .send()
        .await
        .expect("answers");
    assert_eq!(offset_of(&head), Some(photo.len() as u64));
    let again = patch(&alice, &path, photo.len(), &[]).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    let sent = send_files(&alice, &conversation, "the view", &[&id]).await;
    let attachment = &sent.attachments[0];
    assert_eq!(attachment.content_type, "image/jpeg");
    let image = attachment.image.clone().expect("a picture");
    assert_eq!(
        (image.width, image.height, image.animated),
        (20, 40, false),
        "turned as the camera said"
    );
    let stored = fetch(&bob, &attachment.url, None)
        .await
        .bytes()
        .await
        .expect("bytes");
    assert!(!contains(&stored, b"GPS-SECRET"), "the EXIF block is gone");
    let stored = image::load_from_memory(&stored).expect("still a picture");
    assert_eq!((stored.width(), stored.height()), (20, 40), "stored turned");
    let thumbnail = fetch(&bob, &image.thumbnail_url, None).await;
    assert_eq!(thumbnail.status(), StatusCode::OK);
    assert_eq!(thumbnail.headers()[header::CONTENT_TYPE], "image/jpeg");
    let thumbnail = image::load_from_memory(&thumbnail.bytes().await.expect("bytes"))
        .expect("a JPEG thumbnail");
    assert_eq!((thumbnail.width(), thumbnail.height()), (20, 40));

    // An animated GIF stays as it was sent, and says it animates.
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        for shade in [0u8, 255] {
            let frame = image::RgbaImage::from_pixel(8, 8, image::Rgba([shade, 0, 0, 255]));
            encoder
                .encode_frame(image::Frame::new(frame))
                .expect("a frame");
        }
    }
    let id = upload(&alice, &gif, "blink.gif", "image/gif").await;
    let sent = send_files(&alice, &conversation, "", &[&id]).await;
    let attachment = &sent.attachments[0];
    assert_eq!(
        attachment.image.as_ref().map(|image| image.animated),
        Some(true)
    );
    let stored = fetch(&bob, &attachment.url, None)
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(stored.as_ref(), gif.as_slice());

    // A file that claims to be a picture and is not: refused when its last byte arrives.
    let fake = b"this is not a picture at all".to_vec();
    let path = location(&alice, fake.len(), "holiday.png", "image/png").await;
    let refused = patch(&alice, &path, 0, &fake).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let head = tus(&alice, Method::HEAD, &path)
        .send()
        .await
        .expect("answers");
    assert_eq!(head.status(), StatusCode::NOT_FOUND, "the upload is gone");
}

async fn delete(client: &Client, message: &Message) -> (StatusCode, serde_json::Value) {
    let path = format!(
        "/api/conversations/{}/messages/{}",
        message.conversation_id, message.id
    );
    client.call(Method::DELETE, &path, None).await
}

/// The files in the store (thumbnails included).
fn stored_files(server: &TestServer) -> usize {
    fn count(directory: &std::path::Path) -> usize {
        std::fs::read_dir(directory)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| {
                        let path = entry.path();
                        if path.is_dir() { count(&path) } else { 1 }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    count(&server.data_dir().join("files"))
}

async fn the_same_file_is_stored_once_and_goes_with_its_last_message(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let bytes = content(50_000);
    let first = upload(&alice, &bytes, "notes.txt", "text/plain").await;
    let second = upload(&bob, &bytes, "copy of notes.txt", "text/plain").await;
    assert_eq!(stored_files(&server), 1, "one copy of the same bytes");
    let one = send_files(&alice, &conversation, "mine", &[&first]).await;
    let two = send_files(&bob, &conversation, "mine too", &[&second]).await;

    let (status, tombstone) = delete(&alice, &one).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tombstone["attachments"], json!([]));
    assert_eq!(
        fetch(&bob, &one.attachments[0].url, None).await.status(),
        StatusCode::NOT_FOUND,
        "a deleted message's file is gone"
    );
    assert_eq!(stored_files(&server), 1, "still used by the other message");
    assert_eq!(
        fetch(&alice, &two.attachments[0].url, None).await.status(),
        StatusCode::OK
    );
    let (status, _) = delete(&bob, &two).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored_files(&server),
        0,
        "no message uses the bytes: deleted"
    );
}

/// moto's S3 server on a loopback port (`pip install "moto[server]"`, which `cargo xtask
/// setup` does), stopped when dropped.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl S3Server {
    async fn start() -> S3Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto's S3 server starts (pip install \"moto[server]\"; cargo xtask setup)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        crate::harness::eventually("moto's S3 server answering", || {
            let client = client.clone();
            let endpoint = endpoint.clone();
            async move { client.get(&endpoint).send().await.ok().map(|_| ()) }
        })
        .await;
        // The bucket (S3's CreateBucket is a PUT of its name; moto checks no signature).
        let created = client
            .put(format!("{endpoint}/natter-files"))
            .send()
            .await
            .expect("moto answers");
        assert!(
            created.status().is_success(),
            "bucket: {}",
            created.status()
        );
        S3Server { child, endpoint }
    }

    /// Objects in the bucket (ListObjectsV2's keys).
    async fn keys(&self) -> Vec<String> {
        let listing = reqwest::get(format!("{}/natter-files?list-type=2", self.endpoint))
            .await
            .expect("moto answers")
            .text()
            .await
            .expect("a listing");
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next().map(str::to_owned))
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The same upload, download and deletion against an S3-compatible store (moto), as several
/// nodes would share it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_live_in_an_s3_compatible_store() {
    let s3 = S3Server::start().await;
    let endpoint = s3.endpoint.clone();
    let server = TestServer::start_with(Backend::Sqlite, move |config| {
        config.file_store = Some("s3://natter-files/natter".parse().expect("a URL"));
        config.file_store_options = [
            ("aws_endpoint", endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
            ("aws_region", "us-east-1"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    })
    .await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    // Over one multipart piece (8 MiB), so the upload goes in parts.
    let bytes = content(9 * 1024 * 1024);
    let id = upload(&alice, &bytes, "big.bin", "application/octet-stream").await;
    let sent = send_files(&alice, &conversation, "", &[&id]).await;
    let keys = s3.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("natter/"), "{keys:?}");
    let down = fetch(&bob, &sent.attachments[0].url, None).await;
    assert_eq!(
        down.bytes().await.expect("bytes").as_ref(),
        bytes.as_slice()
    );
    let part = fetch(&bob, &sent.attachments[0].url, Some("bytes=-100")).await;
    assert_eq!(
        part.bytes().await.expect("bytes").as_ref(),
        &bytes[bytes.len() - 100..]
    );
    let (status, _) = alice
        .call(
            Method::DELETE,
            &format!(
                "/api/conversations/{}/messages/{}",
                conversation.id, sent.id
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(s3.keys().await.is_empty(), "the file left the bucket");
}

/// An upload left unfinished and a file never sent hold quota and disk until the sweeper takes
/// them (after a day; here the sweep is run as if a day had passed). A sent file stays.
async fn abandoned_uploads_and_unsent_files_are_swept(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let half_done = location(&alice, 1_000, "half.bin", "").await;
    assert_eq!(
        patch(&alice, &half_done, 0, &[1; 400]).await.status(),
        StatusCode::NO_CONTENT
    );
    let unsent = upload(&alice, &content(5_000), "unsent.bin", "").await;
    let sent_id = upload(&alice, &content(7_000), "sent.bin", "").await;
    let sent = send_files(&alice, &conversation, "", &[&sent_id]).await;
    assert_eq!(stored_files(&server), 2);

    let db = natter_server::db::Db::open(&server.config.effective_database_url(), 2)
        .await
        .expect("the database opens");
    let files = natter_server::files::Files {
        store: natter_server::files::BlobStore::local(&server.data_dir().join("files"))
            .expect("the store opens"),
        staging: server.data_dir().join("uploads"),
        max_bytes: server.config.max_file_bytes,
        quota_bytes: server.config.user_quota_bytes,
    };
    // A day from now, everything started until now is abandoned: sweep with that cut-off.
    let cut_off = natter_server::util::now_ms() + 1;
    natter_server::files::sweep(&db, &files, cut_off)
        .await
        .expect("the sweep runs");

    let head = tus(&alice, Method::HEAD, &half_done)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        head.status(),
        StatusCode::NOT_FOUND,
        "the unfinished upload is gone"
    );
    assert!(
        !server
            .data_dir()
            .join("uploads")
            .join(half_done.rsplit('/').next().expect("an id"))
            .exists(),
        "with its staged bytes"
    );
    let gone = tus(&alice, Method::HEAD, &format!("/api/uploads/{unsent}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "the unsent file is gone"
    );
    assert_eq!(
        stored_files(&server),
        1,
        "its bytes left the store; the sent file's stayed"
    );
    assert_eq!(
        fetch(&bob, &sent.attachments[0].url, None).await.status(),
        StatusCode::OK
    );
}
