//! [`Image`]: pixels encoded to PNG, or PNG/JPEG bytes kept as they are.

use std::fmt;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use crate::error::Error;
use crate::media::sha256_hex;

/// The largest width or height W&B accepts (the official client's `Image.MAX_DIMENSION`).
///
/// ```
/// use wandb_log::media::MAX_DIMENSION;
/// assert!(wandb_log::Image::from_gray(MAX_DIMENSION + 1, 1, &[]).is_err());
/// ```
pub const MAX_DIMENSION: u32 = 65_500;

/// The most memory a PNG given as bytes may take when it is checked by decoding it.
const DECODE_LIMIT_BYTES: usize = 512 * 1024 * 1024;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// An image to log: encoded once, when it is made (in the caller's thread), to PNG, or kept
/// as the PNG/JPEG bytes it was made from. Logged under a key, it becomes the file
/// `media/images/<key>_<step>_<sha256[:20]>.<png|jpg>` of the run and the history value
/// `{"_type": "image-file", "sha256", "size", "path", "format", "width", "height",
/// "caption"?}`, as the official client writes it; a `Vec<Image>` becomes the official
/// `images/separated` value with one file per image ([`crate::RowValue::Images`]).
///
/// Cost: encoding a 224×224 RGB image to PNG and hashing it takes about a millisecond (see
/// BENCHMARKS.md); `Run::log` then writes the file in the caller's thread.
///
/// ```
/// use wandb_log::{Image, Mode, Run, RowValue};
/// let (w, h) = (4, 2);
/// let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 10) as u8).collect();
/// let image = Image::from_rgb(w, h, &rgb)?.with_caption("a gradient");
/// assert_eq!((image.width(), image.height(), image.format()), (4, 2, "png"));
///
/// // Tensors of any crate: their data as a slice plus their shape ([h, w] or [h, w, c]).
/// let gray: Vec<f32> = vec![0.0, 0.25, 0.5, 1.0];
/// let from_tensor = Image::from_pixels(&gray, &[2, 2])?;
/// assert_eq!(from_tensor.height(), 2);
///
/// let run = Run::builder().mode(Mode::Disabled).init()?;
/// run.log([("samples", image)])?;
/// run.log([("batch", RowValue::Images(vec![from_tensor.clone(), from_tensor]))])?;
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    bytes: Arc<[u8]>,
    format: Format,
    width: u32,
    height: u32,
    sha256: String,
    caption: Option<String>,
}

/// How an image's file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Jpeg,
}

/// A pixel component type [`Image::from_pixels`] accepts: `u8` (0 to 255) or `f32` (0.0 to
/// 1.0; values outside are clamped, NaN is an error).
///
/// ```
/// use wandb_log::Image;
/// let bytes = Image::from_pixels(&[0_u8, 255], &[1, 2])?;
/// let floats = Image::from_pixels(&[0.0_f32, 1.0], &[1, 2])?;
/// assert_eq!(bytes.sha256(), floats.sha256(), "the same pixels");
/// # Ok::<(), wandb_log::Error>(())
/// ```
pub trait Pixel: Copy + private::Sealed {
    /// The component as a byte, or `None` when it has no value (NaN).
    #[doc(hidden)]
    fn to_byte(self) -> Option<u8>;
}

impl Pixel for u8 {
    fn to_byte(self) -> Option<u8> {
        Some(self)
    }
}

impl Pixel for f32 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to 0..=255 first"
    )]
    fn to_byte(self) -> Option<u8> {
        (!self.is_nan()).then(|| (self.clamp(0.0, 1.0) * 255.0).round() as u8)
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for f32 {}
}

impl Image {
    /// An 8-bit grayscale image: `pixels` holds `width * height` bytes, row by row.
    ///
    /// ```
    /// let image = wandb_log::Image::from_gray(2, 1, &[0, 255])?;
    /// assert_eq!(image.width(), 2);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] when the slice length is not `width * height`, a side is 0 or above
    /// [`MAX_DIMENSION`].
    pub fn from_gray(width: u32, height: u32, pixels: &[u8]) -> Result<Self, Error> {
        Self::encode(width, height, 1, pixels)
    }

    /// An RGB image: `pixels` holds `width * height * 3` bytes, row by row.
    ///
    /// ```
    /// let image = wandb_log::Image::from_rgb(1, 1, &[255, 0, 0])?;
    /// assert_eq!(image.size(), image.bytes().len());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Image::from_gray`].
    pub fn from_rgb(width: u32, height: u32, pixels: &[u8]) -> Result<Self, Error> {
        Self::encode(width, height, 3, pixels)
    }

    /// An RGBA image: `pixels` holds `width * height * 4` bytes, row by row.
    ///
    /// ```
    /// let image = wandb_log::Image::from_rgba(1, 1, &[255, 0, 0, 128])?;
    /// assert_eq!(image.format(), "png");
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Image::from_gray`].
    pub fn from_rgba(width: u32, height: u32, pixels: &[u8]) -> Result<Self, Error> {
        Self::encode(width, height, 4, pixels)
    }

    /// An image from a tensor's data in height-width-channel order and its shape:
    /// `[height, width]` (gray) or `[height, width, channels]` with 1, 3 or 4 channels.
    /// Components are `u8` (0 to 255) or `f32` (0.0 to 1.0, clamped). For a burn tensor:
    /// `Image::from_pixels(&t.to_data().to_vec::<f32>()?, &t.dims())`; for candle:
    /// `Image::from_pixels(&t.flatten_all()?.to_vec1::<f32>()?, t.dims())`. A
    /// channels-first tensor (`[c, h, w]`) must be permuted to `[h, w, c]` first.
    ///
    /// ```
    /// use wandb_log::Image;
    /// let data = vec![0.0_f32, 0.5, 1.0, 0.5, 1.0, 0.0];
    /// let image = Image::from_pixels(&data, &[1, 2, 3])?; // one row of two RGB pixels
    /// assert_eq!((image.width(), image.height()), (2, 1));
    /// assert!(Image::from_pixels(&data, &[2, 2, 3]).is_err(), "wrong slice length");
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] for a shape that is not `[h, w]` or `[h, w, 1|3|4]`, a slice whose
    /// length does not match it, a side of 0 or above [`MAX_DIMENSION`], or a NaN component.
    pub fn from_pixels<P: Pixel>(pixels: &[P], shape: &[usize]) -> Result<Self, Error> {
        let (h, w, c) = match *shape {
            [h, w] => (h, w, 1),
            [h, w, c] if matches!(c, 1 | 3 | 4) => (h, w, c),
            _ => {
                return Err(Error::Media(format!(
                    "image shape {shape:?}: give [height, width] or [height, width, channels] with 1, 3 or 4 channels (permute a channels-first tensor to height, width, channels)"
                )));
            }
        };
        let side = |n: usize, what: &str| {
            u32::try_from(n).map_err(|_| {
                Error::Media(format!(
                    "image {what} {n} is above the largest W&B accepts ({MAX_DIMENSION}): resize the image"
                ))
            })
        };
        let (width, height) = (side(w, "width")?, side(h, "height")?);
        let mut bytes = Vec::with_capacity(pixels.len());
        for (i, p) in pixels.iter().enumerate() {
            bytes.push(p.to_byte().ok_or_else(|| {
                Error::Media(format!(
                    "image component {i} is NaN: replace NaN values (e.g. with 0.0) before logging"
                ))
            })?);
        }
        #[expect(clippy::cast_possible_truncation, reason = "c is 1, 3 or 4")]
        Self::encode(width, height, c as u8, &bytes)
    }

    /// An image from the bytes of a PNG or JPEG file (told apart by their signature), kept
    /// as they are: a PNG is decoded once to check it, a JPEG's header is read for its size.
    ///
    /// ```
    /// use wandb_log::Image;
    /// let png = Image::from_gray(3, 2, &[0; 6])?;
    /// let again = Image::from_bytes(png.bytes().to_vec())?;
    /// assert_eq!((again.width(), again.height(), again.sha256()), (3, 2, png.sha256()));
    /// assert!(Image::from_bytes(b"not an image".to_vec()).is_err());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] for bytes that are neither a valid PNG nor a JPEG with a readable
    /// header, or an image larger than [`MAX_DIMENSION`].
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes = bytes.into();
        if bytes.starts_with(PNG_SIGNATURE) {
            Self::from_png(bytes)
        } else if bytes.starts_with(&[0xFF, 0xD8]) {
            Self::from_jpeg(bytes)
        } else {
            Err(Error::Media(
                "the bytes are neither a PNG nor a JPEG file: decode other formats yourself and use Image::from_pixels".into(),
            ))
        }
    }

    /// An image from the bytes of a PNG file, kept as they are (decoded once to check them).
    ///
    /// ```
    /// let png = wandb_log::Image::from_rgb(1, 1, &[1, 2, 3])?;
    /// let mut corrupt = png.bytes().to_vec();
    /// corrupt.truncate(corrupt.len() - 20);
    /// assert!(wandb_log::Image::from_png(corrupt).is_err());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] for bytes that do not decode as a PNG, or a side above
    /// [`MAX_DIMENSION`].
    pub fn from_png(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes = bytes.into();
        let bad = |e: &dyn fmt::Display| {
            Error::Media(format!(
                "the PNG bytes do not decode ({e}): check the file, or give the pixels with Image::from_pixels"
            ))
        };
        let limits = png::Limits {
            bytes: DECODE_LIMIT_BYTES,
        };
        let mut reader = png::Decoder::new_with_limits(Cursor::new(&bytes[..]), limits)
            .read_info()
            .map_err(|e| bad(&e))?;
        let (width, height) = reader.info().size();
        check_sides(width, height)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| bad(&"the image is too large to decode"))?;
        let mut buf = vec![0; size];
        reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
        Ok(Self::stored(bytes, Format::Png, width, height))
    }

    /// An image from the bytes of a JPEG file, kept as they are (format `jpg`): its size is
    /// read from the header; the image data is not decoded.
    ///
    /// ```
    /// // The smallest header: start of image, then a baseline frame of 16x8 pixels.
    /// let jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 16, 1, 1, 0x11, 0];
    /// let image = wandb_log::Image::from_jpeg(jpeg.to_vec())?;
    /// assert_eq!((image.width(), image.height(), image.format()), (16, 8, "jpg"));
    /// assert!(wandb_log::Image::from_jpeg(jpeg[..8].to_vec()).is_err());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] when no frame header with a size is found before the image data.
    pub fn from_jpeg(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes = bytes.into();
        let (width, height) = jpeg_size(&bytes).ok_or_else(|| {
            Error::Media(
                "the JPEG bytes have no readable frame header (truncated or not a JPEG): check the file, or give the pixels with Image::from_pixels".into(),
            )
        })?;
        check_sides(width, height)?;
        Ok(Self::stored(bytes, Format::Jpeg, width, height))
    }

    /// An image from a PNG or JPEG file (see [`Image::from_bytes`]).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("wandb-log-image-doc-{}.png", std::process::id()));
    /// std::fs::write(&path, wandb_log::Image::from_gray(1, 1, &[7])?.bytes())?;
    /// assert_eq!(wandb_log::Image::from_file(&path)?.width(), 1);
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; as [`Image::from_bytes`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::from_bytes(std::fs::read(path)?)
    }

    /// The image with a caption, shown under it in the W&B UI.
    ///
    /// ```
    /// let image = wandb_log::Image::from_gray(1, 1, &[0])?.with_caption("epoch 3");
    /// assert_eq!(image.caption(), Some("epoch 3"));
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// The width in pixels.
    ///
    /// ```
    /// assert_eq!(wandb_log::Image::from_gray(3, 1, &[0; 3])?.width(), 3);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The height in pixels.
    ///
    /// ```
    /// assert_eq!(wandb_log::Image::from_gray(1, 3, &[0; 3])?.height(), 3);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The file format: `png` or `jpg`.
    ///
    /// ```
    /// assert_eq!(wandb_log::Image::from_gray(1, 1, &[0])?.format(), "png");
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn format(&self) -> &'static str {
        match self.format {
            Format::Png => "png",
            Format::Jpeg => "jpg",
        }
    }

    /// The encoded file's bytes.
    ///
    /// ```
    /// let image = wandb_log::Image::from_gray(1, 1, &[0])?;
    /// assert!(image.bytes().starts_with(b"\x89PNG"));
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file's size in bytes.
    ///
    /// ```
    /// let image = wandb_log::Image::from_gray(1, 1, &[0])?;
    /// assert_eq!(image.size(), image.bytes().len());
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The file's SHA-256, in lowercase hex.
    ///
    /// ```
    /// assert_eq!(wandb_log::Image::from_gray(1, 1, &[0])?.sha256().len(), 64);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The caption, if any.
    ///
    /// ```
    /// assert_eq!(wandb_log::Image::from_gray(1, 1, &[0])?.caption(), None);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn caption(&self) -> Option<&str> {
        self.caption.as_deref()
    }

    /// The file's extension (with the dot).
    pub(crate) fn extension(&self) -> &'static str {
        match self.format {
            Format::Png => ".png",
            Format::Jpeg => ".jpg",
        }
    }

    /// Encodes 8-bit pixels with `channels` components to PNG.
    fn encode(width: u32, height: u32, channels: u8, pixels: &[u8]) -> Result<Self, Error> {
        check_sides(width, height)?;
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(usize::from(channels)))
            .ok_or_else(|| {
                Error::Media(format!(
                    "an image of {width}x{height}x{channels} is too large for this machine: resize it"
                ))
            })?;
        if pixels.len() != expected {
            return Err(Error::Media(format!(
                "{} pixel components for a {width}x{height} image with {channels} channel(s): give width * height * channels = {expected}",
                pixels.len()
            )));
        }
        let color = match channels {
            1 => png::ColorType::Grayscale,
            3 => png::ColorType::Rgb,
            _ => png::ColorType::Rgba,
        };
        let mut out = Vec::with_capacity(expected / 2 + 64);
        let failed = |e: png::EncodingError| {
            Error::Media(format!("the image could not be encoded to PNG: {e}"))
        };
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(failed)?;
        writer.write_image_data(pixels).map_err(failed)?;
        writer.finish().map_err(failed)?;
        Ok(Self::stored(out, Format::Png, width, height))
    }

    fn stored(bytes: Vec<u8>, format: Format, width: u32, height: u32) -> Self {
        let sha256 = sha256_hex(&bytes);
        Image {
            bytes: bytes.into(),
            format,
            width,
            height,
            sha256,
            caption: None,
        }
    }
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("format", &self.format())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("size", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("caption", &self.caption)
            .finish()
    }
}

fn check_sides(width: u32, height: u32) -> Result<(), Error> {
    if width == 0 || height == 0 {
        return Err(Error::Media(format!(
            "an image of {width}x{height} pixels is empty: give at least one pixel"
        )));
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(Error::Media(format!(
            "an image of {width}x{height} pixels is larger than W&B accepts ({MAX_DIMENSION} per side): resize it"
        )));
    }
    Ok(())
}

/// The `(width, height)` of a JPEG, from its first frame header (`SOFn`), or `None` when
/// the bytes end, or the image data starts, before one.
fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            // Markers without a length: TEM, RSTn, SOI.
            0x01 | 0xD0..=0xD8 => continue,
            // End of image or start of scan before any frame header.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        if len < 2 {
            return None;
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let header = bytes.get(at + 2..at + 7)?;
            let height = u32::from(u16::from_be_bytes([header[1], header[2]]));
            let width = u32::from(u16::from_be_bytes([header[3], header[4]]));
            return Some((width, height));
        }
        at = at.checked_add(len)?;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decode(image: &Image) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(Cursor::new(image.bytes()))
            .read_info()
            .expect("our PNG decodes");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("frame");
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn encoded_pixels_decode_back_equal() {
        let (w, h) = (7_u32, 5_u32);
        for (channels, color) in [
            (1, png::ColorType::Grayscale),
            (3, png::ColorType::Rgb),
            (4, png::ColorType::Rgba),
        ] {
            let n = (w * h) as usize * channels;
            let pixels: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            let image = match channels {
                1 => Image::from_gray(w, h, &pixels),
                3 => Image::from_rgb(w, h, &pixels),
                _ => Image::from_rgba(w, h, &pixels),
            }
            .expect("valid pixels");
            let (info, decoded) = decode(&image);
            assert_eq!((info.width, info.height, info.color_type), (w, h, color));
            assert_eq!(decoded, pixels, "{channels} channel(s)");
            assert_eq!(image.sha256(), sha256_hex(image.bytes()));
        }
    }

    #[test]
    fn float_pixels_scale_to_bytes_and_clamp() {
        let data = [0.0_f32, 0.5, 1.0, -3.0, 7.0, f32::INFINITY];
        let image = Image::from_pixels(&data, &[2, 3]).expect("gray 3x2");
        assert_eq!(decode(&image).1, [0, 128, 255, 0, 255, 255]);
        let err = Image::from_pixels(&[0.0, f32::NAN], &[1, 2]).unwrap_err();
        assert!(err.to_string().contains("component 1 is NaN"), "{err}");
    }

    #[test]
    fn hostile_shapes_and_lengths_are_errors() {
        let cases: [(&[usize], usize); 7] = [
            (&[2, 2, 3], 11),
            (&[2, 2, 2], 8),
            (&[2], 2),
            (&[0, 5], 0),
            (&[1, 65_501], 65_501),
            (&[usize::MAX, usize::MAX, 3], 3),
            (&[1, 2, 3, 4], 24),
        ];
        for (shape, len) in cases {
            let data = vec![0_u8; len];
            assert!(
                matches!(Image::from_pixels(&data, shape), Err(Error::Media(_))),
                "{shape:?}"
            );
        }
        assert!(Image::from_rgb(u32::MAX, u32::MAX, &[0; 3]).is_err());
        assert!(Image::from_rgb(65_500, 65_500, &[0; 3]).is_err());
        let err = Image::from_rgb(2, 2, &[0; 11]).unwrap_err().to_string();
        assert!(err.contains("give width * height * channels = 12"), "{err}");
    }

    #[test]
    fn png_and_jpeg_bytes_are_kept_with_their_size() {
        let png = Image::from_rgb(3, 2, &[9; 18]).expect("rgb");
        let again = Image::from_bytes(png.bytes().to_vec()).expect("valid PNG");
        assert_eq!(again, png);
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xFF, 0xC2, 0, 11, 8, 1, 2, 3, 4, 1, 1, 0x11,
            0,
        ];
        let image = Image::from_bytes(jpeg.to_vec()).expect("JPEG header");
        assert_eq!((image.width(), image.height()), (0x0304, 0x0102));
        assert_eq!((image.format(), image.extension()), ("jpg", ".jpg"));
        assert_eq!(image.bytes(), jpeg);
    }

    #[test]
    fn corrupt_png_and_jpeg_bytes_are_errors() {
        let png = Image::from_rgb(8, 8, &[200; 192])
            .expect("rgb")
            .bytes()
            .to_vec();
        let mut flipped = png.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xFF;
        for bad in [
            png[..png.len() / 2].to_vec(),
            flipped,
            PNG_SIGNATURE.to_vec(),
            vec![0xFF, 0xD8],
            vec![0xFF, 0xD8, 0xFF, 0xDA, 0, 2],
            vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 0, 0, 16, 1],
            vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0],
            vec![],
        ] {
            assert!(
                matches!(Image::from_bytes(bad.clone()), Err(Error::Media(_))),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut jpeg = vec![0xFF, 0xD8];
            jpeg.extend(&bytes);
            let mut png = PNG_SIGNATURE.to_vec();
            png.extend(&bytes);
            for result in [Image::from_bytes(bytes), Image::from_jpeg(jpeg), Image::from_png(png)] {
                match result {
                    Ok(image) => prop_assert!(image.width() > 0 && image.height() > 0),
                    Err(e) => prop_assert!(matches!(e, Error::Media(_)), "{e}"),
                }
            }
        }
    }
}
