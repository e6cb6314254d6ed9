//! The sink's configuration: `url`, `table`, `database`, `user`, `password`.

use crate::error::PluginError;
use crate::json::{self, Value};

/// What `sluice plugins inspect` shows and what the host checks a pipeline's block against
/// before `validate_config` runs. NUL-terminated for the descriptor.
pub const SCHEMA_JSON: &str = concat!(
    r#"{"type":"object","additionalProperties":false,"required":["url","table"],"properties":{"#,
    r#""url":{"type":"string","description":"ClickHouse's HTTP interface, http://host:port (plain HTTP only)"},"#,
    r#""table":{"type":"string","description":"table the rows go to; a MergeTree with non_replicated_deduplication_window > 0 (ClickHouse 22.2+) or any table on a server with system.query_log"},"#,
    r#""database":{"type":"string","default":"default","description":"database of the table"},"#,
    r#""user":{"type":"string","default":"default","description":"ClickHouse user"},"#,
    r#""password":{"type":"string","default":"","description":"the user's password (never logged)"}"#,
    "}}\0"
);

const KEYS: [&str; 5] = ["url", "table", "database", "user", "password"];

#[derive(Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub table: String,
    pub database: String,
    pub user: String,
    pub password: String,
}

impl Config {
    /// `http://host:port`, for messages (never with credentials).
    pub fn url(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }

    /// `database.table` as written in messages.
    pub fn qualified_table(&self) -> String {
        format!("{}.{}", self.database, self.table)
    }

    pub fn parse(text: &str) -> Result<Config, PluginError> {
        let document = json::parse(text).map_err(|e| {
            PluginError::config(format!("the configuration is not valid JSON: {}", e), "")
        })?;
        let members = match &document {
            Value::Object(members) => members,
            other => {
                return Err(PluginError::config(
                    format!(
                        "the configuration must be an object with url and table, not {}",
                        other.type_name()
                    ),
                    "",
                ))
            }
        };
        for (key, _) in members {
            if !KEYS.contains(&key.as_str()) {
                return Err(PluginError::config(
                    format!("unknown key '{}'; the keys are {}", key, KEYS.join(", ")),
                    &pointer(key),
                ));
            }
        }
        let string = |key: &str| -> Result<Option<String>, PluginError> {
            match members.iter().find(|(k, _)| k == key).map(|(_, v)| v) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(PluginError::config(
                    format!("'{}' must be a string, not {}", key, other.type_name()),
                    &pointer(key),
                )),
            }
        };
        let url = string("url")?.ok_or_else(|| {
            PluginError::config("'url' is missing: set it to ClickHouse's HTTP interface, e.g. url: http://127.0.0.1:8123", "")
        })?;
        let (host, port) = parse_url(&url)?;
        let table = string("table")?.ok_or_else(|| {
            PluginError::config(
                "'table' is missing: name the ClickHouse table the rows go to",
                "",
            )
        })?;
        if table.is_empty() {
            return Err(PluginError::config(
                "'table' is empty: name the ClickHouse table the rows go to",
                "/table",
            ));
        }
        let database = string("database")?.unwrap_or_else(|| "default".to_string());
        if database.is_empty() {
            return Err(PluginError::config(
                "'database' is empty: leave it out for 'default' or name the database",
                "/database",
            ));
        }
        let user = string("user")?.unwrap_or_else(|| "default".to_string());
        if user.is_empty() {
            return Err(PluginError::config(
                "'user' is empty: leave it out for 'default' or name the ClickHouse user",
                "/user",
            ));
        }
        let password = string("password")?.unwrap_or_default();
        Ok(Config {
            host,
            port,
            table,
            database,
            user,
            password,
        })
    }
}

/// `/key` as a JSON Pointer (RFC 6901 escapes `~` and `/`).
fn pointer(key: &str) -> String {
    format!("/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Accepts `http://host`, `http://host:port` and `http://[v6]:port`, with at most a trailing `/`.
fn parse_url(url: &str) -> Result<(String, u16), PluginError> {
    let bad = |why: &str| {
        PluginError::config(
            format!(
                "'url' {} (got \"{}\"); write it as http://host:port",
                why, url
            ),
            "/url",
        )
    };
    let rest = match url.strip_prefix("http://") {
        Some(rest) => rest,
        None if url.starts_with("https://") => {
            return Err(PluginError::config(
                "'url' is https://, but this sink speaks plain HTTP only: use http://host:port (behind a TLS-terminating proxy if the network needs TLS), or the shipped clickhouse-sink, which has TLS",
                "/url",
            ))
        }
        None => return Err(bad("must start with http://")),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        return Err(bad(
            "must not carry credentials: set 'user' and 'password' instead",
        ));
    }
    if authority.contains('/') || authority.contains('?') || authority.contains('#') {
        return Err(bad("must not have a path or query"));
    }
    let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']').ok_or_else(|| bad("has an unclosed '['"))?;
        let after = &v6[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("has text after the IPv6 address")),
        };
        (v6[..end].to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let port = match port_text {
        None => 8123,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(bad("has an invalid port")),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(json: &str) -> (String, String) {
        let e = Config::parse(json).err().expect("should fail");
        (e.message, e.config_path.unwrap_or_default())
    }

    #[test]
    fn defaults_and_urls() {
        let c = Config::parse(r#"{"url":"http://127.0.0.1:8123/","table":"t"}"#).unwrap();
        assert_eq!(
            (
                c.host.as_str(),
                c.port,
                c.database.as_str(),
                c.user.as_str(),
                c.password.as_str()
            ),
            ("127.0.0.1", 8123, "default", "default", "")
        );
        let c = Config::parse(
            r#"{"url":"http://[::1]:9000","table":"t","database":"d","user":"u","password":"p"}"#,
        )
        .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.url()),
            ("::1", 9000, "http://[::1]:9000".to_string())
        );
        assert_eq!(
            Config::parse(r#"{"url":"http://ch","table":"t"}"#)
                .unwrap()
                .port,
            8123
        );
    }

    #[test]
    fn refusals_point_at_the_value() {
        assert_eq!(fails("[]").1, "");
        assert!(fails("[]").0.contains("must be an object"));
        assert!(fails(r#"{"table":"t"}"#).0.contains("'url' is missing"));
        assert!(fails(r#"{"url":"http://h:1"}"#)
            .0
            .contains("'table' is missing"));
        assert_eq!(fails(r#"{"url":"http://h:1","table":5}"#).1, "/table");
        assert_eq!(fails(r#"{"url":"http://h:1","table":""}"#).1, "/table");
        assert_eq!(fails(r#"{"url":"ftp://h:1","table":"t"}"#).1, "/url");
        assert!(fails(r#"{"url":"https://h:1","table":"t"}"#)
            .0
            .contains("plain HTTP"));
        assert_eq!(fails(r#"{"url":"http://h:99999","table":"t"}"#).1, "/url");
        assert_eq!(fails(r#"{"url":"http://u:p@h:1","table":"t"}"#).1, "/url");
        assert_eq!(fails(r#"{"url":"http://h:1/x","table":"t"}"#).1, "/url");
        assert_eq!(
            fails(r#"{"url":"http://h:1","table":"t","user":1}"#).1,
            "/user"
        );
        assert_eq!(
            fails(r#"{"url":"http://h:1","table":"t","password":null}"#).1,
            "/password"
        );
        assert_eq!(
            fails(r#"{"url":"http://h:1","table":"t","tabel":"x"}"#).1,
            "/tabel"
        );
        assert_eq!(
            fails(r#"{"url":"http://h:1","table":"t","a/b":"x"}"#).1,
            "/a~1b"
        );
        assert!(fails("{").0.contains("not valid JSON"));
    }
}
