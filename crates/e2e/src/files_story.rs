//! Files in the app (issue 17): Alice pastes a picture (600 × 300) into the composer, picks a
//! text file in the system's file picker from the attach button, and sends both with a
//! caption; Bob's live session receives one message with both, the picture measured by the
//! server, and the command line downloads the text file byte for byte. The app shows the picture inline at its 2:1 shape and opens it whole in the viewer.
//! Then Bob sends a file from the command line, and the app downloads it from its card into
//! the Downloads folder.

use std::{path::Path, process::Command};

use anyhow::{Context, Result, ensure};
use fantoccini::Client;
use serde_json::Value;

use crate::{
    harness::{Cli, Screenshots, UI_TIMEOUT, message_row, until_js},
    processes::{output, poll, visible_window},
};

/// Pastes a file into the composer as the system's clipboard would hand it to the page.
async fn paste(session: &Client, name: &str, content_type: &str, bytes: &[u8]) -> Result<()> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    session
        .execute(
            "const [encoded, name, type] = arguments; \
             const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)); \
             const data = new DataTransfer(); \
             data.items.add(new File([bytes], name, { type })); \
             const box = document.getElementById('composer'); \
             box.focus(); \
             box.dispatchEvent(new ClipboardEvent('paste', \
               { clipboardData: data, bubbles: true, cancelable: true }));",
            vec![
                Value::from(encoded),
                Value::from(name),
                Value::from(content_type),
            ],
        )
        .await
        .with_context(|| format!("pasting {name} failed"))?;
    Ok(())
}

const DIALOG_TITLE: &str = "^Send files$";
/// How long the file picker is given to take a step.
const DIALOG_STEP: std::time::Duration = std::time::Duration::from_secs(2);

/// Chooses a file in the system's file picker as a person would: the attach button opens the
/// "Send files" dialog (GTK here), Ctrl+L gives its location field, the path typed there and
/// Enter choose the file.
async fn pick_in_dialog(session: &Client, path: &Path) -> Result<()> {
    session
        .find(fantoccini::Locator::Id("attach"))
        .await?
        .click()
        .await?;
    let id = poll("the Send files dialog", UI_TIMEOUT, || {
        visible_window(DIALOG_TITLE)
    })?;
    let xdotool = |args: &[&str]| output(Command::new("xdotool").args(args));
    let path = path.to_str().context("a path that is not UTF-8")?;
    let closed = || Ok(visible_window(DIALOG_TITLE)?.is_none().then_some(()));
    // GTK takes a moment to make a new dialog take keys, and to find the typed file (Open
    // stays disabled until then): as a person would, type again, press Enter again.
    for _ in 0..4 {
        if closed()?.is_some() {
            return Ok(());
        }
        xdotool(&["windowfocus", "--sync", &id])?;
        xdotool(&["key", "--clearmodifiers", "ctrl+l", "ctrl+a"])?;
        xdotool(&["type", "--delay", "20", path])?;
        for _ in 0..3 {
            xdotool(&["key", "Return"])?;
            if poll("the Send files dialog closing", DIALOG_STEP, closed).is_ok() {
                return Ok(());
            }
        }
    }
    anyhow::bail!("the Send files dialog did not take {path}")
}

pub async fn run(session: &Client, bob: &Cli, work: &Path, screens: &Screenshots) -> Result<()> {
    let conversation_id = bob.dm("alice")?;
    let mut follow = bob.follow(&conversation_id)?;

    // A picture and a file, pasted, sent with a caption.
    let mut picture_bytes = Vec::new();
    image::RgbImage::from_fn(600, 300, |x, y| {
        image::Rgb([(x * 255 / 600) as u8, (y * 255 / 300) as u8, 140])
    })
    .write_to(
        &mut std::io::Cursor::new(&mut picture_bytes),
        image::ImageFormat::Png,
    )
    .context("a PNG was not made")?;
    let notes: Vec<u8> = "Shopping list\n- bread\n- tea\n".repeat(200).into_bytes();
    let notes_path = work.join("picked").join("notes.txt");
    std::fs::create_dir_all(notes_path.parent().context("a folder")?)?;
    std::fs::write(&notes_path, &notes)?;
    paste(session, "image.png", "image/png", &picture_bytes).await?;
    until_js(
        session,
        "the pasted picture over the composer",
        "return document.querySelectorAll('#attachment-tray .tray-file').length === 1",
    )
    .await?;
    pick_in_dialog(session, &notes_path).await?;
    until_js(
        session,
        "the pasted picture and the picked file over the composer",
        "const names = [...document.querySelectorAll('#attachment-tray .tray-file-name')] \
           .map((name) => name.textContent); \
         return names.length === 2 && names[0].startsWith('Pasted image ') \
           && names[0].endsWith('.png') && names[1] === 'notes.txt' \
           && document.querySelector('#attachment-tray img.tray-file-preview') !== null",
    )
    .await?;
    let caption = "Two files for you";
    let composer = session.find(fantoccini::Locator::Id("composer")).await?;
    composer.send_keys(&format!("{caption}\u{e007}")).await?;
    until_js(
        session,
        "the tray emptied once the files went with the message",
        "return document.getElementById('attachment-tray').hidden",
    )
    .await?;

    let received = follow.wait_for_line("Bob receiving the files", UI_TIMEOUT, |line| {
        serde_json::from_str::<Value>(line).is_ok_and(|event| {
            event["type"] == "message"
                && event["message"]["body"] == caption
                && event["message"]["attachments"]
                    .as_array()
                    .is_some_and(|files| files.len() == 2)
        })
    })?;
    let event: Value = serde_json::from_str(&received)?;
    let message = &event["message"];
    let files = message["attachments"]
        .as_array()
        .context("no attachments")?;
    let image = &files[0]["image"];
    ensure!(
        image["width"] == 600 && image["height"] == 300 && files[0]["content_type"] == "image/png",
        "the server did not measure the picture: {}",
        files[0]
    );
    ensure!(
        files[1]["name"] == "notes.txt"
            && files[1]["size"] == notes.len()
            && files[1]["image"].is_null(),
        "the text file arrived as {}",
        files[1]
    );
    let message_id = message["id"].as_str().context("no message id")?;
    let bobs_copies = work.join("bob-downloads");
    std::fs::create_dir_all(&bobs_copies)?;
    bob.run(&[
        "download",
        message_id,
        bobs_copies.to_str().context("a path that is not UTF-8")?,
    ])?;
    ensure!(
        std::fs::read(bobs_copies.join("notes.txt"))? == notes,
        "Bob's download of notes.txt differs from what Alice pasted"
    );
    ensure!(
        std::fs::read_dir(&bobs_copies)?.count() == 2,
        "Bob's download did not bring both files"
    );

    // Inline at its shape, then whole in the viewer.
    let size = until_js(
        session,
        "the picture inline, sized 2:1 and loaded",
        &format!(
            "const picture = {}?.querySelector('.message-picture'); \
             const image = picture?.querySelector('img'); \
             if (!image || image.hidden || !image.complete || image.naturalWidth === 0) return null; \
             return [picture.offsetWidth, picture.offsetHeight]",
            message_row(caption)
        ),
    )
    .await?;
    ensure!(
        size == serde_json::json!([320, 160]),
        "the picture is shown at {size}, not 320 × 160"
    );
    until_js(
        session,
        "the text file's card",
        &format!(
            "return {}?.querySelector('.file-card .file-card-name')?.textContent === 'notes.txt'",
            message_row(caption)
        ),
    )
    .await?;
    session
        .execute(
            &format!(
                "{}.querySelector('.message-picture').click()",
                message_row(caption)
            ),
            Vec::new(),
        )
        .await?;
    until_js(
        session,
        "the viewer showing the picture itself",
        "const viewer = document.getElementById('picture-viewer'); \
         const image = document.getElementById('picture-viewer-image'); \
         return viewer.open && viewer.dataset.loaded === 'true' && image.naturalWidth === 600",
    )
    .await?;
    screens.take(session, "06-picture-viewer").await?;
    session
        .find(fantoccini::Locator::Id("picture-viewer-close"))
        .await?
        .click()
        .await?;
    until_js(
        session,
        "the viewer closed",
        "return !document.getElementById('picture-viewer').open",
    )
    .await?;

    // A file from the command line, downloaded from its card.
    let report = work.join("report.bin");
    let report_bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&report, &report_bytes)?;
    let report_caption = "the quarterly report";
    bob.run(&[
        "send-file",
        &conversation_id,
        report.to_str().context("a path that is not UTF-8")?,
        "--text",
        report_caption,
    ])?;
    until_js(
        session,
        "the report's card, offering its download",
        &format!(
            "const button = {}?.querySelector('.file-card [data-action=download]'); \
             if (!button) return null; button.click(); return true",
            message_row(report_caption)
        ),
    )
    .await?;
    until_js(
        session,
        "the report downloaded, offering to open it",
        &format!(
            "return {}?.querySelector('.file-card [data-action=open-download]') != null",
            message_row(report_caption)
        ),
    )
    .await?;
    screens.take(session, "06-files").await?;
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let downloaded = Path::new(&home).join("Downloads").join("report.bin");
    ensure!(
        std::fs::read(&downloaded)
            .with_context(|| format!("{} is missing", downloaded.display()))?
            == report_bytes,
        "the app's download of report.bin differs from what Bob sent"
    );
    println!(
        "desktop e2e: a pasted picture and a file picked in the system's file picker went up \
         with a caption (the picture inline at 2:1 and whole in the viewer); Bob's report came \
         down into Downloads"
    );
    Ok(())
}
