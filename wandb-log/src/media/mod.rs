//! Rich values for rows: [`Image`], [`Histogram`] and [`Table`], written as the official
//! client 0.31.0 writes them, so that `wandb sync` uploads them and the W&B UI shows them.
//!
//! A value is put in a row like a scalar ([`crate::RowWriter::push`] takes any
//! [`RowValue`]). When the row is logged, a file-backed value (an image, a list of images,
//! a table) is written to `<run dir>/files/media/…` under a name made of its key, its step
//! and its hash, a `files` record for it goes to the `.wandb` log, and the history row holds
//! its JSON description; the summary keeps the last one, as for scalars. A disabled run
//! takes the same values (with the same errors, all found when the value is made) and
//! writes nothing.
//!
//! Cost: images are encoded and hashed when they are made, and `log` writes their file in
//! the caller's thread, while the run's queue is locked (the background writer waits for
//! that long); see BENCHMARKS.md for the numbers.
//!
//! ```
//! use wandb_log::{Histogram, Image, Mode, Run, RowValue, Table, Value};
//! let dir = std::env::temp_dir().join(format!("wandb-log-media-doc-{}", std::process::id()));
//! let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
//! let image = Image::from_rgb(2, 1, &[255, 0, 0, 0, 0, 255])?.with_caption("red, blue");
//! let step = run.log(vec![
//!     ("samples", RowValue::from(image)),
//!     ("weights", Histogram::from_values(&[0.1, 0.5, 0.2])?.into()),
//!     ("loss", 0.25.into()),
//! ])?;
//! let table = Table::new(["id", "label"]).with_row([Value::from(0), "cat".into()])?;
//! run.log([("predictions", table)])?;
//! let report = run.finish(0)?;
//! let path = report.summary["samples"]["path"].as_str().unwrap();
//! assert!(path.starts_with(&format!("media/images/samples_{step}_")));
//! assert!(report.dir.unwrap().join("files").join(path).exists());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), wandb_log::Error>(())
//! ```

mod histogram;
mod image;
mod table;

use std::fmt::Write as _;
use std::path::Path;

use indexmap::IndexMap;
use sha2::{Digest, Sha256};
use wandb_sweep::Value;

pub use histogram::{DEFAULT_BINS, Histogram, MAX_BINS};
pub use image::{Image, MAX_DIMENSION, Pixel};
pub use table::Table;

use crate::error::Error;
use crate::keys::{KeyId, Keys};

/// The most images of one list that are logged (the official client's `Image.MAX_ITEMS`);
/// later ones are left out, with a warning.
///
/// ```
/// use wandb_log::{Image, Mode, Run, RowValue, media::MAX_IMAGES};
/// let image = Image::from_gray(1, 1, &[0])?;
/// let run = Run::builder().mode(Mode::Disabled).init()?;
/// run.log([("many", RowValue::Images(vec![image; MAX_IMAGES + 1]))])?; // the first 108
/// # Ok::<(), wandb_log::Error>(())
/// ```
pub const MAX_IMAGES: usize = 108;

/// One value of a row: a plain [`Value`] (numbers, strings, … and a [`Histogram`]), an
/// [`Image`], a list of images or a [`Table`]. Everything that converts into a `Value`
/// converts into a `RowValue`, so rows of mixed values are written as
/// `vec![("a", RowValue::from(image)), ("b", 0.5.into())]`. Several images shown together
/// are `RowValue::Images(vec)` (or collected from an iterator of images).
///
/// ```
/// use wandb_log::{Image, RowValue};
/// let cells: Vec<(&str, RowValue)> = vec![
///     ("loss", 0.5.into()),
///     ("digits", RowValue::Images(vec![Image::from_gray(1, 1, &[0])?, Image::from_gray(1, 1, &[255])?])),
///     ("more", [0, 128].iter().map(|&v| Image::from_gray(1, 1, &[v])).collect::<Result<_, _>>()?),
/// ];
/// assert!(matches!(cells[2].1, RowValue::Images(ref v) if v.len() == 2));
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RowValue {
    /// A plain value.
    Value(Value),
    /// An image.
    Image(Image),
    /// Images shown together (the official `images/separated` value; at most
    /// [`MAX_IMAGES`]).
    Images(Vec<Image>),
    /// A table.
    Table(Table),
}

impl<T: Into<Value>> From<T> for RowValue {
    fn from(v: T) -> Self {
        RowValue::Value(v.into())
    }
}

impl From<Image> for RowValue {
    fn from(v: Image) -> Self {
        RowValue::Image(v)
    }
}

/// Images collected into one value: `images.into_iter().collect::<RowValue>()` (the same
/// as `RowValue::Images(images)`).
impl FromIterator<Image> for RowValue {
    fn from_iter<I: IntoIterator<Item = Image>>(iter: I) -> Self {
        RowValue::Images(iter.into_iter().collect())
    }
}

impl From<Table> for RowValue {
    fn from(v: Table) -> Self {
        RowValue::Table(v)
    }
}

/// A file-backed value of a row, waiting for its step: the row's cell `cell` is filled
/// when it is placed.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) cell: usize,
    pub(crate) value: RowValue,
}

/// The files of placed values, as paths relative to the run's `files/` folder (for the
/// log's `files` records).
pub(crate) type Published = Vec<String>;

/// Writes the files of `pending` values (into `files_dir`, when there is one) under names
/// made of their key and `step` (a step number, or `summary`), fills their cells with
/// their history values, and adds the files' paths to `published`.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written; cells placed before stay placed.
pub(crate) fn place(
    pending: &mut Vec<Pending>,
    cells: &mut [(KeyId, Value)],
    keys: &Keys,
    step: &str,
    files_dir: Option<&Path>,
    published: &mut Published,
) -> Result<(), Error> {
    for p in pending.drain(..) {
        let Some((id, cell)) = cells.get_mut(p.cell) else {
            continue;
        };
        let stem = file_stem(keys.name(*id));
        let mut write = |subdir: &str, id: &str, ext: &str, bytes: &[u8]| {
            let path = format!("media/{subdir}/{stem}_{step}_{id}{ext}");
            if let Some(dir) = files_dir {
                let file = dir.join(&path);
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&file, bytes)?;
                published.push(path.clone());
            }
            Ok::<_, Error>(path)
        };
        *cell = match p.value {
            RowValue::Value(v) => v,
            RowValue::Image(image) => {
                let path = write_image(&mut write, &image)?;
                image_value(&image, path)
            }
            RowValue::Images(images) => {
                let mut paths = Vec::with_capacity(images.len().min(MAX_IMAGES));
                if images.len() > MAX_IMAGES {
                    tracing::warn!(
                        count = images.len(),
                        "only the first {MAX_IMAGES} images of a list are logged (as the official client does)"
                    );
                }
                for image in images.iter().take(MAX_IMAGES) {
                    paths.push(write_image(&mut write, image)?);
                }
                images_value(&images[..paths.len()], paths)
            }
            RowValue::Table(table) => {
                let json = table.to_json();
                let sha = sha256_hex(json.as_bytes());
                let path = write("table", &sha[..20], ".table.json", json.as_bytes())?;
                table_value(&table, &sha, json.len(), path)
            }
        };
    }
    Ok(())
}

/// Writes `image` with `write` (see [`place`]) as `images/…_<sha256[:20]>.<ext>`.
fn write_image<W>(write: &mut W, image: &Image) -> Result<String, Error>
where
    W: FnMut(&str, &str, &str, &[u8]) -> Result<String, Error>,
{
    write(
        "images",
        &image.sha256()[..20],
        image.extension(),
        image.bytes(),
    )
}

/// The official client's `image-file` value.
fn image_value(image: &Image, path: String) -> Value {
    let mut m = IndexMap::with_capacity(8);
    if let Some(c) = image.caption() {
        m.insert("caption".to_owned(), Value::from(c));
    }
    m.insert("_type".to_owned(), Value::from("image-file"));
    m.insert("sha256".to_owned(), Value::from(image.sha256()));
    m.insert("size".to_owned(), Value::from(image.size()));
    m.insert("path".to_owned(), Value::from(path));
    m.insert("format".to_owned(), Value::from(image.format()));
    m.insert("width".to_owned(), Value::from(image.width()));
    m.insert("height".to_owned(), Value::from(image.height()));
    Value::Map(m)
}

/// The official client's `images/separated` value: the first image's size and format, the
/// files, and the captions when the first image has one (`""` for images without).
fn images_value(images: &[Image], paths: Vec<String>) -> Value {
    let Some(first) = images.first() else {
        return Value::List(Vec::new());
    };
    if images
        .iter()
        .any(|i| (i.width(), i.height()) != (first.width(), first.height()))
    {
        tracing::warn!(
            "the images of a list differ in size: the W&B UI shows them at the first one's size"
        );
    }
    let mut m = IndexMap::with_capacity(7);
    m.insert("_type".to_owned(), Value::from("images/separated"));
    m.insert("width".to_owned(), Value::from(first.width()));
    m.insert("height".to_owned(), Value::from(first.height()));
    m.insert("format".to_owned(), Value::from(first.format()));
    m.insert("count".to_owned(), Value::from(images.len()));
    m.insert("filenames".to_owned(), Value::from(paths));
    if first.caption().is_some() {
        let captions: Vec<Value> = images
            .iter()
            .map(|i| Value::from(i.caption().unwrap_or("")))
            .collect();
        m.insert("captions".to_owned(), Value::List(captions));
    }
    Value::Map(m)
}

/// The official client's `table-file` value (without the artifact paths: see [`Table`]).
fn table_value(table: &Table, sha256: &str, size: usize, path: String) -> Value {
    let mut m = IndexMap::with_capacity(7);
    m.insert("_type".to_owned(), Value::from("table-file"));
    m.insert("sha256".to_owned(), Value::from(sha256));
    m.insert("size".to_owned(), Value::from(size));
    m.insert("path".to_owned(), Value::from(path));
    m.insert("ncols".to_owned(), Value::from(table.ncols()));
    m.insert("nrows".to_owned(), Value::from(table.nrows()));
    m.insert("log_mode".to_owned(), Value::from("IMMUTABLE"));
    Value::Map(m)
}

/// A key as a file name stem that stays inside the media folder on every platform: `/`
/// keeps making sub-folders (as in the official client), leading slashes go, `.` and `..`
/// segments and characters Windows refuses (`\ : * ? " < > |` and control characters)
/// become `_`.
fn file_stem(key: &str) -> String {
    let key = key.trim_start_matches('/');
    let mut out = String::with_capacity(key.len());
    for (i, segment) in key.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if segment.is_empty() || segment == "." || segment == ".." {
            out.push('_');
            continue;
        }
        out.extend(segment.chars().map(|c| {
            if c.is_control() || matches!(c, '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        }));
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The SHA-256 of `bytes` in lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        let _infallible = write!(hex, "{b:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_file_stems_inside_the_media_folder() {
        for (key, stem) in [
            ("samples", "samples"),
            ("val/images", "val/images"),
            ("/abs/x", "abs/x"),
            ("../../etc/passwd", "_/_/etc/passwd"),
            ("a/./b", "a/_/b"),
            ("a//b", "a/_/b"),
            ("c:\\x*y?", "c__x_y_"),
            ("", "_"),
            ("/", "_"),
            ("line\nbreak", "line_break"),
        ] {
            assert_eq!(file_stem(key), stem, "{key:?}");
        }
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
