//! A gzip frame around uncompressed ("stored") deflate blocks.
//!
//! Not for size, for integrity: ClickHouse inserts a TabSeparated body that ends early (the
//! sink was killed while sending it) as if it were complete, so a crash mid-insert would commit
//! part of an epoch, and no dedup token or query log could tell. A gzip stream that ends
//! before its last block and CRC fails to inflate, and the whole INSERT fails.

/// Bytes of deflate payload per stored block (the format's maximum).
const BLOCK: usize = 65535;

const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// The total size of the gzip stream for `length` bytes of data.
#[cfg(test)]
fn framed_length(length: usize) -> usize {
    let blocks = if length == 0 {
        1
    } else {
        length.div_ceil(BLOCK)
    };
    HEADER.len() + blocks * 5 + length + 8
}

/// The gzip stream of `data` as slices to send in order (header, each block's 5-byte header and
/// its part of `data`, trailer), without copying `data`.
pub fn frame<'a>(
    data: &'a [u8],
    block_headers: &'a mut Vec<[u8; 5]>,
    trailer: &'a mut [u8; 8],
) -> Vec<&'a [u8]> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&data[..0]]
    } else {
        data.chunks(BLOCK).collect()
    };
    block_headers.clear();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let len = chunk.len() as u16;
        let [l0, l1] = len.to_le_bytes();
        let [n0, n1] = (!len).to_le_bytes();
        block_headers.push([u8::from(last), l0, l1, n0, n1]);
    }
    trailer[..4].copy_from_slice(&crc32(data).to_le_bytes());
    trailer[4..].copy_from_slice(&(data.len() as u32).to_le_bytes());
    let mut parts: Vec<&'a [u8]> = Vec::with_capacity(chunks.len() * 2 + 2);
    parts.push(&HEADER);
    for (header, chunk) in block_headers.iter().zip(chunks) {
        parts.push(&header[..]);
        parts.push(chunk);
    }
    parts.push(&trailer[..]);
    parts
}

/// CRC-32 (IEEE, reflected, as gzip uses it).
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        table
    });
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_a_known_string() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn frames_have_the_announced_length() {
        for length in [0usize, 1, 65534, 65535, 65536, 200_000] {
            let data = vec![7u8; length];
            let mut headers = Vec::new();
            let mut trailer = [0u8; 8];
            let parts = frame(&data, &mut headers, &mut trailer);
            let total: usize = parts.iter().map(|p| p.len()).sum();
            assert_eq!(total, framed_length(length));
            let last_header = parts[parts.len() - 3];
            assert_eq!(last_header[0], 1, "the last block is marked final");
        }
    }
}
