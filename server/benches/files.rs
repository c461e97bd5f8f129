//! Files benchmark: the real `natter-server` binary on loopback. Uploads a file with tus in
//! 8 MiB pieces and downloads it, against copying the same file on disk; the cost of resuming
//! an upload cut in the middle; the server's resident memory during the transfer; and the time
//! to read a 12-megapixel JPEG (metadata out, thumbnail) on the server.
//!
//! `cargo bench -p natter-server --bench files -- [--megabytes N]` (default 1024: a 1 GiB
//! file; `cargo xtask bench files` runs it).

use std::{
    io::Write,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

mod common;

use base64::Engine;
use common::ServerProcess;
use serde_json::{Value, json};

const PIECE: usize = 8 * 1024 * 1024;

fn megabytes() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == "--megabytes")
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(1024)
}

/// Samples the server's resident memory every 50 ms until stopped; answers the peak.
struct MemoryWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl MemoryWatch {
    fn start(pid: u32) -> MemoryWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let thread = std::thread::spawn({
            let (stop, peak) = (stop.clone(), peak.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(common::rss_kib(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        });
        MemoryWatch { stop, peak, thread }
    }

    fn peak_mib(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

async fn sign_up(http: &reqwest::Client, url: &str, name: &str) -> (String, String) {
    let body: Value = http
        .post(format!("{url}/api/auth/signup"))
        .json(&json!({
            "username": name,
            "display_name": name,
            "password": "correct horse battery",
            "device_name": "bench"
        }))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("an auth answer");
    let token = body["token"].as_str();
    let id = body["user"]["id"].as_str();
    match (token, id) {
        (Some(token), Some(id)) => (token.to_owned(), id.to_owned()),
        _ => panic!("sign-up failed: {body}"),
    }
}

async fn create(http: &reqwest::Client, url: &str, token: &str, length: u64) -> String {
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let response = http
        .post(format!("{url}/api/uploads"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header(
            "Upload-Metadata",
            format!("filename {}", encode("bench.bin")),
        )
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    format!(
        "{url}{}",
        response.headers()["location"].to_str().expect("a Location")
    )
}

async fn patch(
    http: &reqwest::Client,
    location: &str,
    token: &str,
    offset: u64,
    body: reqwest::Body,
) -> Option<u64> {
    let response = match http
        .patch(location)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            eprintln!("a piece at {offset} did not go: {error}");
            return None;
        }
    };
    let status = response.status();
    let stands = response
        .headers()
        .get("upload-offset")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    if stands.is_none() {
        eprintln!(
            "a piece at {offset} was refused: {status} {:?}",
            response.text().await
        );
    }
    stands
}

async fn head(http: &reqwest::Client, location: &str, token: &str) -> u64 {
    http.head(location)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("the server answers")
        .headers()["upload-offset"]
        .to_str()
        .expect("an offset")
        .parse()
        .expect("a number")
}

/// Uploads the file from `from` to the end in 8 MiB pieces read from disk; answers the bytes
/// sent.
async fn upload_from(
    http: &reqwest::Client,
    location: &str,
    token: &str,
    path: &std::path::Path,
    from: u64,
    length: u64,
) -> u64 {
    use std::io::{Read, Seek};
    let mut file = std::fs::File::open(path).expect("the file");
    let mut offset = from;
    let mut sent = 0;
    let mut buffer = vec![0; PIECE];
    while offset < length {
        let wanted = (length - offset).min(PIECE as u64) as usize;
        file.seek(std::io::SeekFrom::Start(offset)).expect("seek");
        file.read_exact(&mut buffer[..wanted]).expect("read");
        let piece = bytes::Bytes::copy_from_slice(&buffer[..wanted]);
        offset = patch(http, location, token, offset, piece.into())
            .await
            .expect("a piece is stored");
        sent += wanted as u64;
    }
    sent
}

fn rate(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let megabytes = megabytes();
    let length = megabytes * 1024 * 1024;
    let work = tempfile::tempdir().expect("a directory");
    let source = work.path().join("source.bin");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&source).expect("a file"));
        let mut block = vec![0u8; 1024 * 1024];
        for index in 0..megabytes {
            for (position, byte) in block.iter_mut().enumerate() {
                *byte = (position as u64 * 31 + index * 7) as u8;
            }
            file.write_all(&block).expect("written");
        }
    }
    // The disk alone: copying the same file.
    let copy_started = Instant::now();
    std::fs::copy(&source, work.path().join("copy.bin")).expect("a copy");
    let copy = copy_started.elapsed();
    std::fs::remove_file(work.path().join("copy.bin")).expect("removed");

    let server = ServerProcess::start(
        &[
            "--max-file-bytes",
            &(8u64 << 30).to_string(),
            "--user-quota-bytes",
            &(64u64 << 30).to_string(),
        ],
        &[],
    );
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let (alice, _) = sign_up(&http, &server.url, "alice").await;
    let (bob, bob_id) = sign_up(&http, &server.url, "bob").await;
    let conversation: Value = http
        .post(format!("{}/api/conversations", server.url))
        .bearer_auth(&alice)
        .json(&json!({"kind": "direct", "user_id": bob_id}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("a conversation");
    let idle_mib = server.rss_kib() as f64 / 1024.0;

    let location = create(&http, &server.url, &alice, length).await;
    let watch = MemoryWatch::start(pid);
    let upload_started = Instant::now();
    upload_from(&http, &location, &alice, &source, 0, length).await;
    let upload = upload_started.elapsed();
    let upload_peak = watch.peak_mib();
    let id = location.rsplit('/').next().expect("an id").to_owned();
    let sent: Value = http
        .post(format!(
            "{}/api/conversations/{}/messages",
            server.url,
            conversation["id"].as_str().expect("an id")
        ))
        .bearer_auth(&alice)
        .json(&json!({"client_id": uuid::Uuid::now_v7(), "attachments": [id]}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("a message");
    let url = format!(
        "{}{}",
        server.url,
        sent["attachments"][0]["url"].as_str().expect("a url")
    );

    let watch = MemoryWatch::start(pid);
    let download_started = Instant::now();
    let mut response = http
        .get(&url)
        .bearer_auth(&bob)
        .send()
        .await
        .expect("answers");
    let mut received = 0u64;
    while let Some(chunk) = response.chunk().await.expect("the bytes") {
        received += chunk.len() as u64;
    }
    let download = download_started.elapsed();
    let download_peak = watch.peak_mib();
    assert_eq!(received, length, "the whole file came down");

    // A cut in the middle: a piece whose connection drops half-way. The server keeps what
    // arrived; HEAD says where to go on.
    let resume_length = 64 * 1024 * 1024;
    let resume_source = work.path().join("resume.bin");
    std::fs::write(&resume_source, vec![7u8; resume_length as usize]).expect("a file");
    let location = create(&http, &server.url, &bob, resume_length).await;
    let first = upload_from(&http, &location, &bob, &resume_source, 0, 24 * 1024 * 1024).await;
    let half: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(bytes::Bytes::from(vec![7u8; PIECE / 2])),
        Err(std::io::Error::other("the network went away")),
    ];
    let cut = patch(
        &http,
        &location,
        &bob,
        first,
        reqwest::Body::wrap_stream(futures_util::stream::iter(half)),
    )
    .await;
    assert!(cut.is_none(), "the cut piece got an answer");
    let resume_started = Instant::now();
    let offset = head(&http, &location, &bob).await;
    let rest = upload_from(
        &http,
        &location,
        &bob,
        &resume_source,
        offset,
        resume_length,
    )
    .await;
    let resume = resume_started.elapsed();
    let cut_sent = (PIECE / 2) as u64;
    let sent_again = (first + cut_sent + rest).saturating_sub(resume_length);

    // A 12-megapixel photo on the server's picture path (metadata out, size, thumbnail).
    let photo = {
        let picture = image::RgbImage::from_fn(4000, 3000, |x, y| {
            image::Rgb([(x / 16) as u8, (y / 12) as u8, ((x ^ y) & 0xff) as u8])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&picture)
            .expect("a JPEG");
        jpeg
    };
    let mut thumbnail_times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let picture = natter_server::files::pictures::inspect(&photo, image::ImageFormat::Jpeg)
            .expect("a picture");
        thumbnail_times.push(started.elapsed());
        assert!(picture.shown.is_some());
    }
    thumbnail_times.sort();

    println!("files benchmark: a {megabytes} MiB file on loopback, 8 MiB pieces");
    println!(
        "  disk copy            {:>8.0} MiB/s ({:.2} s)",
        rate(length, copy),
        copy.as_secs_f64()
    );
    println!(
        "  upload (tus)         {:>8.0} MiB/s ({:.2} s), {:.2}x the disk copy's time",
        rate(length, upload),
        upload.as_secs_f64(),
        upload.as_secs_f64() / copy.as_secs_f64()
    );
    println!(
        "  download             {:>8.0} MiB/s ({:.2} s), {:.2}x the disk copy's time",
        rate(length, download),
        download.as_secs_f64(),
        download.as_secs_f64() / copy.as_secs_f64()
    );
    println!(
        "  server memory        idle {idle_mib:.0} MiB, peak {upload_peak:.0} MiB during the upload, {download_peak:.0} MiB during the download"
    );
    println!(
        "  resume after a cut   {} KiB sent again of a 64 MiB upload cut mid-piece; HEAD + the rest {:.0} ms",
        sent_again / 1024,
        resume.as_secs_f64() * 1000.0
    );
    println!(
        "  12-megapixel JPEG    {:.0} ms to take its metadata out, read its size and make the thumbnail (median of 3)",
        thumbnail_times[1].as_secs_f64() * 1000.0
    );
}
