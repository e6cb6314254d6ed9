//! Just enough HTTP/1.1 for ClickHouse: one POST per connection (`Connection: close`), a body
//! sent from slices, an answer read with Content-Length, chunked coding, or up to the close.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no answer. Both leave open whether the server acted on the request,
/// except `Connect`, which never reached it.
#[derive(Debug)]
pub enum HttpError {
    /// No connection: the server is down or unreachable; nothing was sent.
    Connect(String),
    /// The connection broke or timed out after the request started, or the answer was not
    /// HTTP; the server may have acted on the request.
    Exchange(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Connect(m) | HttpError::Exchange(m) => f.write_str(m),
        }
    }
}

pub struct Request<'a> {
    pub host: &'a str,
    pub port: u16,
    /// Path and query, already percent-encoded: `/?query=...`.
    pub target: &'a str,
    pub headers: &'a [(&'a str, String)],
    /// Sent one after the other; their total is the Content-Length.
    pub body: &'a [&'a [u8]],
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
}

pub fn post(request: &Request) -> Result<Response, HttpError> {
    let mut stream = connect(request.host, request.port, request.connect_timeout)?;
    let exchange = |e: io::Error| HttpError::Exchange(describe_io(&e));
    stream
        .set_read_timeout(Some(request.io_timeout))
        .map_err(exchange)?;
    stream
        .set_write_timeout(Some(request.io_timeout))
        .map_err(exchange)?;
    stream.set_nodelay(true).map_err(exchange)?;
    let length: usize = request.body.iter().map(|part| part.len()).sum();
    let host_header = if request.host.contains(':') {
        format!("[{}]:{}", request.host, request.port)
    } else {
        format!("{}:{}", request.host, request.port)
    };
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        request.target, host_header, length
    );
    for (name, value) in request.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(exchange)?;
    for part in request.body {
        stream.write_all(part).map_err(exchange)?;
    }
    stream.flush().map_err(exchange)?;
    read_response(BufReader::new(stream)).map_err(exchange)
}

fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, HttpError> {
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(|e| HttpError::Connect(format!("cannot resolve {}: {}", host, e)))?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(HttpError::Connect(match last {
        Some(e) => describe_io(&e),
        None => format!("{} resolves to no address", host),
    }))
}

/// A short reason for log lines: "connection refused", "timed out", ...
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        io::ErrorKind::BrokenPipe => "connection closed while sending".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".into(),
        io::ErrorKind::UnexpectedEof => "connection closed before the answer was complete".into(),
        _ => e.to_string(),
    }
}

fn bad_answer(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not an HTTP answer: {}", what),
    )
}

fn read_line<R: BufRead>(reader: &mut R, limit: usize) -> io::Result<String> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(limit as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "end of stream",
        ));
    }
    if line.last() != Some(&b'\n') {
        return Err(bad_answer("a line is too long or cut off"));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad_answer("a header is not UTF-8"))
}

pub fn read_response<R: BufRead>(mut reader: R) -> io::Result<Response> {
    let status_line = read_line(&mut reader, 8192)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(bad_answer(&status_line));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad_answer(&status_line))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader, 65536)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| bad_answer(&line))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let chunked = find("Transfer-Encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    let mut body = Vec::new();
    if chunked {
        loop {
            let line = read_line(&mut reader, 1024)?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| bad_answer("a chunk size is not hexadecimal"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !read_line(&mut reader, 65536)?.is_empty() {}
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            if !read_line(&mut reader, 2)?.is_empty() {
                return Err(bad_answer("a chunk does not end with CRLF"));
            }
        }
    } else if let Some(length) = find("Content-Length") {
        let length: usize = length
            .parse()
            .map_err(|_| bad_answer("Content-Length is not a number"))?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b'~' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
}

pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chunked_and_sized_answers() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\n";
        let r = read_response(&chunked[..]).unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.header("x-a")),
            (200, &b"hello!"[..], Some("b"))
        );
        let sized = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops and more";
        let r = read_response(&sized[..]).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (500, &b"oops"[..]));
        let to_close = b"HTTP/1.0 404 Not Found\r\n\r\nall of it";
        assert_eq!(read_response(&to_close[..]).unwrap().body, b"all of it");
        assert!(read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..]).is_err());
        assert!(read_response(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"[..]
        )
        .is_err());
        assert!(read_response(&b"SSH-2.0-OpenSSH\r\n"[..]).is_err());
    }

    #[test]
    fn encodes() {
        assert_eq!(
            percent_encode("INSERT INTO `a`-b_c.d~ é"),
            "INSERT%20INTO%20%60a%60-b_c.d~%20%C3%A9"
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"default:p@ss"), "ZGVmYXVsdDpwQHNz");
    }
}
