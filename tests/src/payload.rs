//! Upload contents: awkward bytes that a careless parser would mangle, and
//! a deterministic generator for bodies too large to hold in memory.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

/// Bytes that a multipart or line-based parser could mistake for
/// structure: every byte value, bare CR and LF, CRLF pairs, CRLFCRLF,
/// and look-alikes of `boundary` (the delimiter without its CRLF, with a
/// wrong last character, cut short, and followed by `--`).
pub fn tricky_bytes(boundary: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend_from_slice(b"\r\n\r\n\n\r\r\n");
    let b = boundary.as_bytes();
    // The delimiter minus the leading CRLF: not a delimiter.
    bytes.extend_from_slice(b"x--");
    bytes.extend_from_slice(b);
    bytes.extend_from_slice(b"\r\n");
    // CRLF-- and the boundary with its last byte changed.
    bytes.extend_from_slice(b"\r\n--");
    bytes.extend_from_slice(&b[..b.len() - 1]);
    bytes.push(b[b.len() - 1] ^ 1);
    bytes.extend_from_slice(b"\r\n");
    // CRLF-- and a cut-off boundary.
    bytes.extend_from_slice(b"\r\n--");
    bytes.extend_from_slice(&b[..b.len() / 2]);
    bytes.extend_from_slice(b"--\r\n");
    // A closing look-alike without the leading CRLF.
    bytes.extend_from_slice(b"x--");
    bytes.extend_from_slice(b);
    bytes.extend_from_slice(b"--\r\n");
    bytes.extend_from_slice(
        b"Content-Disposition: form-data; name=\"f\"; filename=\"evil\"\r\n\r\n",
    );
    bytes.extend_from_slice(b"\x00\xff\r\n");
    bytes
}

/// Deterministic pseudo-random bytes (xorshift64*), `len` of them.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    Generator::new(seed, len as u64).fill(&mut out);
    out
}

/// A stream of `len` pseudo-random bytes, produced piece by piece so that
/// a body of any size can be sent from a small buffer.
pub struct Generator {
    state: u64,
    left: u64,
}

impl Generator {
    /// `len` bytes from `seed` (the same seed gives the same bytes).
    pub fn new(seed: u64, len: u64) -> Generator {
        Generator {
            state: seed | 1,
            left: len,
        }
    }

    /// Bytes still to come.
    pub fn left(&self) -> u64 {
        self.left
    }

    fn next_word(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Fills as much of `buf` as there are bytes left; returns how many.
    pub fn fill(&mut self, buf: &mut [u8]) -> usize {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for chunk in buf[..n].chunks_mut(8) {
            let word = self.next_word().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        self.left -= n as u64;
        n
    }

    /// Writes every remaining byte to `out` in 64 KiB pieces and returns
    /// their lower-case hex SHA-256.
    pub fn write_all_to(mut self, out: &mut dyn Write) -> io::Result<String> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = self.fill(&mut buf);
            if n == 0 {
                return Ok(hex(&hasher.finalize()));
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
    }
}

/// Lower-case hex SHA-256 of a file on disk, read in pieces.
pub fn file_sha256(path: &std::path::Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_exact_in_length() {
        assert_eq!(pseudo_random(7, 1001), pseudo_random(7, 1001));
        assert_ne!(pseudo_random(7, 64), pseudo_random(8, 64));
        let mut sink = Vec::new();
        let digest = Generator::new(7, 1001).write_all_to(&mut sink).unwrap();
        assert_eq!(sink, pseudo_random(7, 1001));
        assert_eq!(digest, crate::inspect::sha256_hex(&sink));
    }

    #[test]
    fn tricky_bytes_hold_boundary_look_alikes() {
        let bytes = tricky_bytes("XyZ");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("\r\n--Xy[") && text.contains("--XyZ--"));
    }
}
