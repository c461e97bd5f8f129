//! Cameras through nokhwa (V4L2 on Linux, Media Foundation on Windows, AVFoundation on macOS).
//!
//! The camera delivers what it has (MJPEG, YUYV, …); nokhwa decodes it to RGB and the `yuv`
//! crate converts that to the I420 the encoder takes. Odd sizes lose their last row or column.

use std::time::Duration;

use nokhwa::{
    Camera as NokhwaCamera,
    pixel_format::RgbFormat,
    utils::{
        ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
        Resolution,
    },
};
use tokio::sync::mpsc;
use yuv::{BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

use super::{Camera, Capture, DeviceError, DeviceInfo};
use crate::frame::{VideoFrame, now_us};

/// Longest wait for the person to answer macOS's camera permission question.
const PERMISSION_WAIT: Duration = Duration::from_secs(60);

/// Whether the app may use cameras. macOS asks the person once (with the usage description
/// of the app's Info.plist) and lists no cameras until they agree, so the first listing waits
/// for the answer; elsewhere nokhwa answers yes at once.
fn camera_permission() -> bool {
    if nokhwa::nokhwa_check() {
        return true;
    }
    let (answer, answered) = std::sync::mpsc::channel();
    nokhwa::nokhwa_initialize(move |granted| {
        let _ = answer.send(granted);
    });
    answered.recv_timeout(PERMISSION_WAIT).unwrap_or(false)
}

/// The system's cameras.
pub fn cameras() -> Vec<DeviceInfo> {
    if !camera_permission() {
        tracing::info!("camera access not granted: no cameras");
        return Vec::new();
    }
    let _com = ComApartment::enter();
    let Some(backend) = nokhwa::native_api_backend() else {
        return Vec::new();
    };
    match nokhwa::query(backend) {
        Ok(found) => found
            .into_iter()
            .map(|camera| DeviceInfo {
                id: format!("camera:{}", camera.index()),
                name: camera.human_name(),
            })
            .collect(),
        Err(error) => {
            tracing::debug!(%error, "no cameras");
            Vec::new()
        }
    }
}

/// A camera, asked for a size and rate; it may pick the nearest it has.
pub struct Webcam {
    index: CameraIndex,
    info: DeviceInfo,
    width: u32,
    height: u32,
    frame_rate: u32,
}

impl Webcam {
    /// `id` as listed by [`cameras`] (`camera:0`).
    pub fn open(id: &str, width: u32, height: u32, frame_rate: u32) -> Result<Self, DeviceError> {
        let index = id
            .strip_prefix("camera:")
            .map(|index| match index.parse::<u32>() {
                Ok(number) => CameraIndex::Index(number),
                Err(_) => CameraIndex::String(index.to_owned()),
            })
            .ok_or_else(|| DeviceError::NotFound(id.into()))?;
        let name = cameras()
            .into_iter()
            .find(|camera| camera.id == id)
            .ok_or_else(|| DeviceError::NotFound(id.into()))?
            .name;
        Ok(Self {
            index,
            info: DeviceInfo {
                id: id.into(),
                name,
            },
            width,
            height,
            frame_rate,
        })
    }
}

impl Camera for Webcam {
    fn info(&self) -> DeviceInfo {
        self.info.clone()
    }

    fn start(self: Box<Self>, frames: mpsc::Sender<VideoFrame>) -> std::io::Result<Capture> {
        let wanted = CameraFormat::new(
            Resolution::new(self.width, self.height),
            FrameFormat::MJPEG,
            self.frame_rate,
        );
        let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
        let index = self.index;
        // nokhwa's camera is not `Send`: it is opened, used and closed on its own thread, and
        // paces that thread (`frame()` waits for the next picture).
        super::run_on_thread(
            "natter-camera",
            move || {
                let com = ComApartment::enter();
                let mut camera = NokhwaCamera::with_backend(index, format, ApiBackend::Auto)
                    .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
                camera
                    .open_stream()
                    .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
                Ok(CameraThread { camera, _com: com })
            },
            move |thread| {
                let buffer = match thread.camera.frame() {
                    Ok(buffer) => buffer,
                    Err(error) => {
                        tracing::warn!(%error, "the camera stopped");
                        return false;
                    }
                };
                let frame = match buffer.decode_image::<RgbFormat>() {
                    Ok(rgb) => to_i420(rgb.width(), rgb.height(), rgb.as_raw()),
                    Err(error) => {
                        tracing::debug!(%error, "a camera picture could not be decoded");
                        None
                    }
                };
                // Capture never waits: a full queue drops the picture.
                frame.is_none_or(|frame| {
                    !matches!(
                        frames.try_send(frame),
                        Err(mpsc::error::TrySendError::Closed(_))
                    )
                })
            },
        )
    }
}

/// What the capture thread holds: the camera, closed before the thread leaves COM (fields drop
/// in order).
struct CameraThread {
    camera: NokhwaCamera,
    _com: ComApartment,
}

/// COM for the calling thread, on Windows, in the single-threaded apartment that nokhwa's
/// Media Foundation bindings ask for; nothing elsewhere. nokhwa initialises COM once per
/// process (a global flag), but COM is per thread: without this, a camera opened on another
/// thread than the one that first listed cameras would run without COM. Left when dropped.
struct ComApartment {
    #[cfg(windows)]
    entered: bool,
    /// COM is left on the thread that entered it, so this never moves to another.
    _this_thread: std::marker::PhantomData<*const ()>,
}

impl ComApartment {
    #[cfg(windows)]
    fn enter() -> Self {
        use windows_sys::Win32::System::Com::{
            COINIT_APARTMENTTHREADED, COINIT_DISABLE_OLE1DDE, CoInitializeEx,
        };
        // SAFETY: a plain Win32 call on this thread, balanced by the drop below when it
        // succeeds (S_OK, or S_FALSE when COM was already entered here).
        let result = unsafe {
            CoInitializeEx(
                std::ptr::null(),
                (COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE) as u32,
            )
        };
        // A failure (RPC_E_CHANGED_MODE: the thread is in the multithreaded apartment) leaves
        // COM usable and nothing to undo.
        Self {
            entered: result >= 0,
            _this_thread: std::marker::PhantomData,
        }
    }

    #[cfg(not(windows))]
    fn enter() -> Self {
        Self {
            _this_thread: std::marker::PhantomData,
        }
    }
}

#[cfg(windows)]
impl Drop for ComApartment {
    fn drop(&mut self) {
        if self.entered {
            // SAFETY: balances the successful CoInitializeEx of `enter`, on the same thread.
            unsafe { windows_sys::Win32::System::Com::CoUninitialize() };
        }
    }
}

/// RGB (8 bits per channel, tightly packed) to I420, cropped to even dimensions.
pub fn to_i420(width: u32, height: u32, rgb: &[u8]) -> Option<VideoFrame> {
    let (even_width, even_height) = (width & !1, height & !1);
    if even_width == 0 || even_height == 0 || rgb.len() < (width * height * 3) as usize {
        return None;
    }
    let mut frame = VideoFrame::black(even_width, even_height);
    frame.captured_at_us = now_us();
    let luma = frame.luma_len();
    let (y, chroma) = frame.data.split_at_mut(luma);
    let (u, v) = chroma.split_at_mut(luma / 4);
    let mut planes = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(y),
        y_stride: even_width,
        u_plane: BufferStoreMut::Borrowed(u),
        u_stride: even_width / 2,
        v_plane: BufferStoreMut::Borrowed(v),
        v_stride: even_width / 2,
        width: even_width,
        height: even_height,
    };
    let converted = yuv::rgb_to_yuv420(
        &mut planes,
        rgb,
        width * 3,
        YuvRange::Limited,
        YuvStandardMatrix::Bt601,
        YuvConversionMode::Balanced,
    );
    if let Err(error) = converted {
        tracing::debug!(%error, "colour conversion failed");
        return None;
    }
    Some(frame)
}
