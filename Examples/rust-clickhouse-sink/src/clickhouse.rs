//! ClickHouse over its HTTP interface: queries, the table's columns, and INSERTs.

use crate::config::Config;
use crate::gzip;
use crate::http::{self, HttpError, Request};
use crate::tsv;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An INSERT of a large epoch may take a while; a query never should.
const INSERT_TIMEOUT: Duration = Duration::from_secs(300);
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub enum ClickHouseError {
    /// No answer (see `HttpError`).
    Transport(HttpError),
    /// ClickHouse answered with an error status; `message` is its own text.
    Server {
        status: u16,
        code: Option<u32>,
        message: String,
    },
}

impl ClickHouseError {
    /// Whether ClickHouse never saw the request (nothing can have landed).
    pub fn before_sending(&self) -> bool {
        matches!(self, ClickHouseError::Transport(HttpError::Connect(_)))
    }

    pub fn is_transport(&self) -> bool {
        matches!(self, ClickHouseError::Transport(_))
    }

    pub fn code(&self) -> Option<u32> {
        match self {
            ClickHouseError::Server { code, .. } => *code,
            _ => None,
        }
    }
}

/// ClickHouse's codes for a wrong user or password, over the versions.
const AUTHENTICATION_CODES: [u32; 4] = [192, 193, 194, 516];
/// "Query with id = ... is already running".
pub const QUERY_ALREADY_RUNNING: u32 = 216;

impl std::fmt::Display for ClickHouseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClickHouseError::Transport(e) => write!(f, "unreachable ({})", e),
            ClickHouseError::Server {
                status,
                code,
                message,
            } => {
                write!(f, "answered HTTP {}: {}", status, message)?;
                if code.is_some_and(|c| AUTHENTICATION_CODES.contains(&c)) {
                    write!(f, " (check 'user' and 'password')")?;
                }
                Ok(())
            }
        }
    }
}

pub struct Client {
    config: Config,
    authorization: String,
}

/// `name` as a ClickHouse identifier in backquotes.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// `text` as a ClickHouse string literal.
pub fn quote_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// ClickHouse's error text, short enough for one log line, without the stack trace newer
/// servers append.
fn server_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let text = text.split("Stack trace").next().unwrap_or(text).trim();
    let mut short: String = text.chars().take(600).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    short
}

fn error_code(body: &[u8], header: Option<&str>) -> Option<u32> {
    if let Some(code) = header.and_then(|h| h.trim().parse().ok()) {
        return Some(code);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(64)]).into_owned();
    let rest = text.trim_start().strip_prefix("Code:")?;
    rest.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()
}

impl Client {
    pub fn new(config: &Config) -> Client {
        let authorization = format!(
            "Basic {}",
            http::base64(format!("{}:{}", config.user, config.password).as_bytes())
        );
        Client {
            config: config.clone(),
            authorization,
        }
    }

    fn post(
        &self,
        parameters: &[(&str, String)],
        body: &[&[u8]],
        gzip: bool,
        timeout: Duration,
    ) -> Result<Vec<u8>, ClickHouseError> {
        let mut target = String::from("/?");
        for (i, (name, value)) in parameters.iter().enumerate() {
            if i > 0 {
                target.push('&');
            }
            target.push_str(name);
            target.push('=');
            target.push_str(&http::percent_encode(value));
        }
        let mut headers = vec![("Authorization", self.authorization.clone())];
        if gzip {
            headers.push(("Content-Encoding", "gzip".to_string()));
        }
        let response = http::post(&Request {
            host: &self.config.host,
            port: self.config.port,
            target: &target,
            headers: &headers,
            body,
            connect_timeout: CONNECT_TIMEOUT,
            io_timeout: timeout,
        })
        .map_err(ClickHouseError::Transport)?;
        if response.status != 200 {
            return Err(ClickHouseError::Server {
                status: response.status,
                code: error_code(
                    &response.body,
                    response.header("X-ClickHouse-Exception-Code"),
                ),
                message: server_message(&response.body),
            });
        }
        Ok(response.body)
    }

    /// Runs `sql` and returns its TabSeparated answer as rows of unescaped fields.
    pub fn rows(&self, sql: &str) -> Result<Vec<Vec<String>>, ClickHouseError> {
        // wait_end_of_query: an error in the middle of the answer then comes as an error
        // status instead of after a 200.
        let body = self.post(
            &[("wait_end_of_query", "1".into())],
            &[sql.as_bytes()],
            false,
            QUERY_TIMEOUT,
        )?;
        Ok(body
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                line.split(|&b| b == b'\t')
                    .map(|f| String::from_utf8_lossy(&tsv::unescape(f)).into_owned())
                    .collect()
            })
            .collect())
    }

    /// The first field of the first row ("" when there is none).
    pub fn scalar(&self, sql: &str) -> Result<String, ClickHouseError> {
        Ok(self
            .rows(sql)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or_default())
    }

    pub fn execute(&self, sql: &str, settings: &[(&str, String)]) -> Result<(), ClickHouseError> {
        let mut parameters = vec![("wait_end_of_query", "1".to_string())];
        parameters.extend(settings.iter().cloned());
        self.post(&parameters, &[sql.as_bytes()], false, QUERY_TIMEOUT)
            .map(|_| ())
    }

    /// One INSERT of TabSeparated `rows` into `columns`, the body framed as gzip so that a
    /// body cut short fails as a whole. `settings` go with it as URL parameters.
    pub fn insert(
        &self,
        columns: &[String],
        rows: &[u8],
        settings: &[(&str, String)],
    ) -> Result<(), ClickHouseError> {
        let list = columns
            .iter()
            .map(|c| quote_identifier(c))
            .collect::<Vec<_>>()
            .join(", ");
        let query = format!(
            "INSERT INTO {}.{} ({}) FORMAT TabSeparated",
            quote_identifier(&self.config.database),
            quote_identifier(&self.config.table),
            list
        );
        let mut parameters = vec![("query", query)];
        parameters.extend(settings.iter().cloned());
        let mut block_headers = Vec::new();
        let mut trailer = [0u8; 8];
        let parts = gzip::frame(rows, &mut block_headers, &mut trailer);
        self.post(&parameters, &parts, true, INSERT_TIMEOUT)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(quote_identifier("a`b\\c"), "`a\\`b\\\\c`");
        assert_eq!(quote_string("it's"), "'it\\'s'");
        assert_eq!(
            error_code(
                b"Code: 60, e.displayText() = DB::Exception: Table x doesn't exist",
                None
            ),
            Some(60)
        );
        assert_eq!(error_code(b"whatever", Some("516")), Some(516));
        assert_eq!(
            server_message(b"Code: 1. DB::Exception: x. Stack trace:\n0. ..."),
            "Code: 1. DB::Exception: x."
        );
    }
}
