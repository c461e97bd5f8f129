//! Desktop app updates from the operator's folder (`--updates-dir`): only a newer version is
//! offered, for the asking platform, with a URL on this server; the files come back byte for
//! byte; nothing outside the folder can be reached through it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, TestServer};

const INSTALLER: &[u8] = b"!<arch>\ndebian-binary   the 0.2.0 package, standing in";

/// A folder as an operator fills it: the release manifest, an installer and its signature,
/// and next to the folder a file nobody may read through the server.
fn release_folder() -> tempfile::TempDir {
    let parent = tempfile::tempdir().expect("a temporary folder");
    let folder = parent.path().join("updates");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(parent.path().join("secret.txt"), "outside the folder").unwrap();
    std::fs::write(folder.join("Natter_0.2.0_amd64.deb"), INSTALLER).unwrap();
    std::fs::write(folder.join("Natter_0.2.0_amd64.deb.sig"), "c2lnbmF0dXJl").unwrap();
    let manifest = json!({
        "version": "0.2.0",
        "notes": "Calls connect faster.",
        "pub_date": "2026-12-01T10:00:00Z",
        "platforms": {
            "linux-x86_64-deb": { "url": "Natter_0.2.0_amd64.deb", "signature": "c2lnbmF0dXJl" },
            "windows-x86_64": {
                "url": "https://downloads.example.org/Natter_0.2.0_x64-setup.exe",
                "signature": "d2luZG93cw=="
            }
        }
    });
    std::fs::write(folder.join("latest.json"), manifest.to_string()).unwrap();
    parent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folder_offers_a_newer_version_to_the_platforms_it_has() {
    let parent = release_folder();
    let folder = parent.path().join("updates");
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.updates_dir = Some(folder.clone());
    })
    .await;
    let get = |path: String| reqwest::get(format!("{}{path}", server.url));

    let answer = get("/api/updates/linux/x86_64/deb/0.1.0".into())
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let offer: Value = answer.json().await.unwrap();
    assert_eq!(offer["version"], "0.2.0");
    assert_eq!(offer["signature"], "c2lnbmF0dXJl");
    assert_eq!(offer["notes"], "Calls connect faster.");
    assert_eq!(offer["pub_date"], "2026-12-01T10:00:00Z");
    let url = offer["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("{}/api/updates/files/Natter_0.2.0_amd64.deb", server.url)
    );
    let file = reqwest::get(url).await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.bytes().await.unwrap().as_ref(), INSTALLER);

    // The platform without the bundle type matches too; an absolute URL is passed on.
    let offer: Value = get("/api/updates/windows/x86_64/nsis/0.1.5".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        offer["url"],
        "https://downloads.example.org/Natter_0.2.0_x64-setup.exe"
    );

    // Nothing newer: the same version, a later one, a platform the release does not have.
    for path in [
        "/api/updates/linux/x86_64/deb/0.2.0",
        "/api/updates/linux/x86_64/deb/0.3.0-beta.1",
        "/api/updates/darwin/aarch64/app/0.1.0",
    ] {
        let answer = get(path.into()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{path}");
    }

    // The operator swaps the release: the next question sees it, no restart.
    std::fs::write(
        folder.join("latest.json"),
        json!({ "version": "0.1.0", "platforms": {} }).to_string(),
    )
    .unwrap();
    let answer = get("/api/updates/linux/x86_64/deb/0.1.0".into())
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_folder_is_served_and_bad_questions_are_refused() {
    let parent = release_folder();
    let folder = parent.path().join("updates");
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.updates_dir = Some(folder.clone());
    })
    .await;
    let status = |path: &'static str| {
        let url = format!("{}{path}", server.url);
        async move { reqwest::get(url).await.unwrap().status() }
    };
    for path in [
        "/api/updates/files/..%2Fsecret.txt",
        "/api/updates/files/%2E%2E%2Fsecret.txt",
        "/api/updates/files/..",
        "/api/updates/files/.hidden",
    ] {
        let answer = status(path).await;
        assert!(
            answer == StatusCode::BAD_REQUEST || answer == StatusCode::NOT_FOUND,
            "{path} answered {answer}"
        );
    }
    assert_eq!(
        status("/api/updates/files/missing.deb").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status("/api/updates/linux/x86_64/deb/not-a-version").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status("/api/updates/Linux%20OS/x86_64/deb/0.1.0").await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_folder_there_is_nothing_newer() {
    let server = TestServer::start(Backend::Sqlite).await;
    let check = reqwest::get(format!("{}/api/updates/linux/x86_64/deb/0.1.0", server.url))
        .await
        .unwrap();
    assert_eq!(check.status(), StatusCode::NO_CONTENT);
    let file = reqwest::get(format!("{}/api/updates/files/latest.json", server.url))
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::NOT_FOUND);
}
