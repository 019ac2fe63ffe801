//! A minimal HTTP/1.1 client connection, built for sending the same GET many times.
//!
//! Why not a general client: a load generator must not be the bottleneck. This one
//! encodes its request once, reuses one read buffer per connection, and throws the
//! response body away as it streams in (unless asked to keep it, as the `/stats`
//! sampler does), so a request costs two system calls and no allocation.
//! `httparse` reads the response head; the body framing (`content-length`,
//! `transfer-encoding: chunked`, or read-until-close) is handled here.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::target::Target;

/// The longest response head accepted; a bigger one is an error, not a reason to grow.
const MAX_HEAD: usize = 64 * 1024;
/// The read buffer a connection starts with: a whole small response fits in one read.
const INITIAL_BUFFER: usize = 8 * 1024;
/// The largest body kept in memory when the caller asks for the body.
pub const MAX_KEPT_BODY: usize = 1024 * 1024;
/// Headers parsed per response; axum sends three or four.
const MAX_HEADERS: usize = 32;

/// One response, as much of it as a load run needs.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, only when the request asked to keep it.
    pub body: Option<Vec<u8>>,
}

/// An HTTP/1.1 connection that sends one prepared GET request, over and over.
pub struct Connection {
    stream: TcpStream,
    request: std::sync::Arc<[u8]>,
    buf: Buffer,
    /// False once the server said `connection: close` or the body ran to end of stream.
    reusable: bool,
}

/// The bytes of `GET path HTTP/1.1`, encoded once per run and shared by every connection.
pub fn encode_request(target: &Target, keepalive: bool) -> std::sync::Arc<[u8]> {
    let connection = if keepalive { "keep-alive" } else { "close" };
    format!(
        "GET {} HTTP/1.1\r\nhost: {}\r\nuser-agent: section1-load\r\naccept: */*\r\nconnection: {connection}\r\n\r\n",
        target.path, target.authority
    )
    .into_bytes()
    .into()
}

impl Connection {
    /// Connects to `target` and prepares to send `request` (see [`encode_request`]).
    pub async fn connect(target: &Target, request: std::sync::Arc<[u8]>) -> io::Result<Self> {
        let stream = TcpStream::connect(target.addr).await?;
        // Requests are tiny and latency is what we measure: never let Nagle hold one back.
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            request,
            buf: Buffer::new(),
            reusable: true,
        })
    }

    /// Whether another request may be sent on this connection.
    pub fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// Sends the request and reads the whole response.
    ///
    /// With `keep_body` false the body is read and discarded, so memory stays at
    /// the read buffer whatever the server sends.
    pub async fn send(&mut self, keep_body: bool) -> io::Result<Response> {
        if !self.reusable {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server closed this connection",
            ));
        }
        self.stream.write_all(&self.request).await?;
        let head = self.read_head().await?;
        let mut body = keep_body.then(Vec::new);
        match head.framing {
            Framing::Empty => {}
            Framing::Length(len) => self.read_exact_body(len, &mut body).await?,
            Framing::Chunked => self.read_chunked_body(&mut body).await?,
            Framing::UntilClose => {
                self.read_until_close(&mut body).await?;
                self.reusable = false;
            }
        }
        if head.close {
            self.reusable = false;
        }
        Ok(Response {
            status: head.status,
            body,
        })
    }

    async fn read_head(&mut self) -> io::Result<Head> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(self.buf.data()) {
                Ok(httparse::Status::Complete(len)) => {
                    let head = Head::from_parsed(&parsed)?;
                    self.buf.consume(len);
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.data().len() >= MAX_HEAD {
                        return Err(invalid("response head larger than 64 KiB"));
                    }
                    self.fill().await?;
                }
                Err(e) => return Err(invalid(&format!("malformed response head: {e}"))),
            }
        }
    }

    async fn read_exact_body(
        &mut self,
        mut left: u64,
        body: &mut Option<Vec<u8>>,
    ) -> io::Result<()> {
        while left > 0 {
            if self.buf.data().is_empty() {
                self.fill().await?;
            }
            let take = self
                .buf
                .data()
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            keep(body, &self.buf.data()[..take])?;
            self.buf.consume(take);
            left -= take as u64;
        }
        Ok(())
    }

    async fn read_chunked_body(&mut self, body: &mut Option<Vec<u8>>) -> io::Result<()> {
        loop {
            let line = self.read_line().await?;
            let size_hex = line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_hex, 16).map_err(|_| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailers (rare) end with an empty line, like the head.
                while !self.read_line().await?.is_empty() {}
                return Ok(());
            }
            self.read_exact_body(size, body).await?;
            if !self.read_line().await?.is_empty() {
                return Err(invalid("chunk not followed by CRLF"));
            }
        }
    }

    async fn read_until_close(&mut self, body: &mut Option<Vec<u8>>) -> io::Result<()> {
        loop {
            keep(body, self.buf.data())?;
            let len = self.buf.data().len();
            self.buf.consume(len);
            if self.buf.read_from(&mut self.stream).await? == 0 {
                return Ok(());
            }
        }
    }

    /// One CRLF-terminated line of chunk framing, without the CRLF.
    async fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.buf.data().windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf.data()[..end]).into_owned();
                self.buf.consume(end + 2);
                return Ok(line);
            }
            if self.buf.data().len() > 4096 {
                return Err(invalid("chunk framing line longer than 4 KiB"));
            }
            self.fill().await?;
        }
    }

    /// Reads more bytes; the end of the stream in the middle of a response is an error.
    async fn fill(&mut self) -> io::Result<()> {
        if self.buf.read_from(&mut self.stream).await? == 0 {
            self.reusable = false;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection mid-response",
            ));
        }
        Ok(())
    }
}

fn keep(body: &mut Option<Vec<u8>>, bytes: &[u8]) -> io::Result<()> {
    if let Some(body) = body {
        if body.len() + bytes.len() > MAX_KEPT_BODY {
            return Err(invalid("response body larger than 1 MiB"));
        }
        body.extend_from_slice(bytes);
    }
    Ok(())
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// How the body of a response ends.
#[derive(Debug, PartialEq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug)]
struct Head {
    status: u16,
    framing: Framing,
    close: bool,
}

impl Head {
    fn from_parsed(parsed: &httparse::Response<'_, '_>) -> io::Result<Head> {
        let status = parsed.code.ok_or_else(|| invalid("no status code"))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = parsed.version == Some(0);
        for header in parsed.headers.iter() {
            let value = std::str::from_utf8(header.value).unwrap_or("");
            if header.name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| invalid("bad content-length"))?,
                );
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if header.name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        // RFC 9112 6.3: no body for 1xx, 204 and 304; chunked wins over a length.
        let framing = if status < 200 || status == 204 || status == 304 {
            Framing::Empty
        } else if chunked {
            Framing::Chunked
        } else if let Some(len) = length {
            Framing::Length(len)
        } else {
            Framing::UntilClose
        };
        Ok(Head {
            status,
            framing,
            close,
        })
    }
}

/// A read buffer: bytes `start..end` of `bytes` are received and not yet consumed.
struct Buffer {
    bytes: Vec<u8>,
    start: usize,
    end: usize,
}

impl Buffer {
    fn new() -> Self {
        Buffer {
            bytes: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
        }
    }

    fn data(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            // Empty again: reuse from the front, no copy needed.
            self.start = 0;
            self.end = 0;
        }
    }

    async fn read_from(&mut self, stream: &mut TcpStream) -> io::Result<usize> {
        if self.end == self.bytes.len() {
            if self.start > 0 {
                self.bytes.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                // A head bigger than the buffer: grow, but never past the head limit.
                let grown = (self.bytes.len() * 2).min(MAX_HEAD + INITIAL_BUFFER);
                if grown == self.bytes.len() {
                    return Err(invalid("response head larger than 64 KiB"));
                }
                self.bytes.resize(grown, 0);
            }
        }
        let n = stream.read(&mut self.bytes[self.end..]).await?;
        self.end += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers every request on one connection with the canned responses, in order.
    async fn canned(responses: Vec<&'static [u8]>) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            for response in responses {
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    seen.extend_from_slice(&buf[..n]);
                }
                // Split the write so the client has to stitch reads together.
                let (a, b) = response.split_at(response.len() / 2);
                socket.write_all(a).await.unwrap();
                socket.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                socket.write_all(b).await.unwrap();
            }
        });
        Target::parse(&format!("http://{addr}/x")).await.unwrap()
    }

    #[tokio::test]
    async fn reads_length_chunked_and_close_delimited_bodies() {
        let target = canned(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n4;x=y\r\nbusy\r\n3\r\n!!!\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nto the end",
        ])
        .await;
        let mut conn = Connection::connect(&target, encode_request(&target, true))
            .await
            .unwrap();
        let first = conn.send(true).await.unwrap();
        assert_eq!(
            (first.status, first.body.unwrap()),
            (200, b"hello".to_vec())
        );
        let second = conn.send(true).await.unwrap();
        assert_eq!(
            (second.status, second.body.unwrap()),
            (503, b"busy!!!".to_vec())
        );
        let third = conn.send(false).await.unwrap();
        assert_eq!((third.status, third.body), (204, None));
        assert!(conn.is_reusable());
        let fourth = conn.send(true).await.unwrap();
        assert_eq!(fourth.body.unwrap(), b"to the end".to_vec());
        assert!(!conn.is_reusable());
    }
}
