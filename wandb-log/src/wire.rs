//! A cursor over protobuf fields, for readers of the `.wandb` log that take what they need
//! from a record's bytes without decoding it whole (the uploader's history rows, reports
//! reading millions of rows). Anything else is left to [`prost`] and [`crate::proto`].

/// Bytes that are not protobuf fields (a varint over 64 bits, a length past the end, an
/// unknown wire type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// A field's payload, by wire type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// Wire type 0 (int, sint after zig-zag, bool, enum).
    Varint(u64),
    /// Wire type 1 (double, fixed64), little-endian.
    Fixed64(u64),
    /// Wire type 5 (float, fixed32), little-endian.
    Fixed32(u32),
    /// Wire type 2 (string, bytes, messages), borrowed.
    Bytes(&'a [u8]),
}

/// The fields of a message, in order, borrowed from its bytes.
///
/// ```
/// use wandb_log::wire::{Field, Wire};
/// // field 1 = varint 150, field 2 = bytes "hi"
/// let mut wire = Wire::new(&[0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i']);
/// assert_eq!(wire.field(), Ok(Some((1, Field::Varint(150)))));
/// assert_eq!(wire.field(), Ok(Some((2, Field::Bytes(b"hi")))));
/// assert_eq!(wire.field(), Ok(None));
/// ```
#[derive(Debug, Clone)]
pub struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    /// A cursor at the start of `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Wire(bytes)
    }

    /// The next field's number and payload; `None` at the end.
    ///
    /// # Errors
    /// [`Malformed`] for bytes that are not a field.
    #[inline]
    pub fn field(&mut self) -> Result<Option<(u64, Field<'a>)>, Malformed> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let field = match tag & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(self.array()?)),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| Malformed)?;
                Field::Bytes(self.take(len)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(self.array()?)),
            _ => return Err(Malformed),
        };
        Ok(Some((tag >> 3, field)))
    }

    /// A varint of at most 64 bits.
    #[inline]
    fn varint(&mut self) -> Result<u64, Malformed> {
        // Most varints (tags, lengths) are one byte.
        if let Some((&b, rest)) = self.0.split_first()
            && b < 0x80
        {
            self.0 = rest;
            return Ok(u64::from(b));
        }
        let mut x = 0;
        for (i, &b) in self.0.iter().enumerate().take(10) {
            if i == 9 && b > 1 {
                return Err(Malformed);
            }
            x |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.0 = &self.0[i + 1..];
                return Ok(x);
            }
        }
        Err(Malformed)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(Malformed)?;
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        self.take(N)?.try_into().map_err(|_| Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_bytes_are_malformed_never_a_panic() {
        let too_long = [0xff; 10];
        assert_eq!(
            Wire::new(&too_long).field(),
            Err(Malformed),
            "65-bit varint"
        );
        assert_eq!(
            Wire::new(&[0x12, 0x05, b'a']).field(),
            Err(Malformed),
            "short bytes"
        );
        assert_eq!(
            Wire::new(&[0x0b]).field(),
            Err(Malformed),
            "group wire type"
        );
        assert_eq!(
            Wire::new(&[0x09, 1, 2]).field(),
            Err(Malformed),
            "short fixed64"
        );
        let mut w = Wire::new(&[0x0d, 1, 0, 0, 0]);
        assert_eq!(w.field(), Ok(Some((1, Field::Fixed32(1)))));
    }
}
