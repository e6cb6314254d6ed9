//! The sink: rows of an epoch buffered as TabSeparated text, sealed into a file in the state
//! directory at each barrier, inserted when the checkpoint completes, idempotently.
//!
//! Idempotence comes from ClickHouse, by one of two paths chosen at open:
//! - insert_deduplication_token (servers that have it, 22.2+) on a table that deduplicates
//!   (Replicated*, or a MergeTree with non_replicated_deduplication_window > 0): an INSERT
//!   sent again with the same token is dropped by the server;
//! - otherwise the query log: every INSERT carries a deterministic query_id, and before an
//!   epoch that may already have landed is sent again (after a restore or a failed attempt),
//!   the sink waits for that query to stop running, flushes the server's logs and skips the
//!   epoch if system.query_log has the query finished.
//!
//! Either way the INSERT body is a gzip frame (see `gzip`), so a body cut short by a crash
//! inserts nothing rather than part of an epoch.

use crate::abi::{self, sluice_host_api, sluice_log_level, ArrowArray, ArrowSchema};
use crate::arrow::{self, Cell};
use crate::clickhouse::{self, quote_identifier, quote_string, ClickHouseError, Client};
use crate::config::Config;
use crate::error::PluginError;
use crate::tsv::{self, ColumnType};
use std::collections::BTreeSet;
use std::ffi::{CStr, CString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a commit keeps retrying an unreachable server before it fails the checkpoint
/// notification (the pipeline then restarts and the restore commits the epoch again).
const COMMIT_RETRY_LIMIT: Duration = Duration::from_secs(60);
/// How long open keeps retrying an unreachable server during a run.
const OPEN_RETRY_LIMIT: Duration = Duration::from_secs(30);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// How long an INSERT from an earlier life may still run on the server before the sink gives up
/// waiting to learn whether it finished.
const RUNNING_QUERY_LIMIT: Duration = Duration::from_secs(600);

const STATE_MAGIC: &str = "clickhouse-rs-sink state 1";

/// What the sink was given at create, copied or kept for the instance's life.
pub struct Host {
    api: *const sluice_host_api,
    pub state_dir: PathBuf,
    pub pipeline: String,
    pub operator: String,
    /// `sluice validate --connect`: try once, fail with the cause, retry nothing.
    pub check_only: bool,
}

unsafe fn borrowed_text(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

impl Host {
    /// # Safety
    /// `api` is the host's table, valid until the instance is destroyed.
    pub unsafe fn new(api: *const sluice_host_api) -> Result<Host, PluginError> {
        if api.is_null() {
            return Err(PluginError::new("the host passed no host API to create; this host is not compatible with clickhouse-rs-sink"));
        }
        let table = &*api;
        if table.state_dir.is_null() {
            return Err(PluginError::new("the host gave no state directory; clickhouse-rs-sink stages its epochs there and cannot run without one"));
        }
        let covers = |end: usize| table.struct_size as usize >= end;
        let open_purpose_end = std::mem::offset_of!(sluice_host_api, open_purpose)
            + std::mem::size_of::<abi::sluice_open_purpose>();
        let check_only = covers(open_purpose_end) && table.open_purpose == abi::SLUICE_OPEN_CHECK;
        Ok(Host {
            api,
            state_dir: PathBuf::from(borrowed_text(table.state_dir)),
            pipeline: borrowed_text(table.pipeline_name),
            operator: borrowed_text(table.operator_name),
            check_only,
        })
    }

    pub fn log(&self, level: sluice_log_level, message: &str) {
        // SAFETY: the host keeps its table alive until destroy returns.
        let table = unsafe { &*self.api };
        if let Some(log) = table.log {
            let text = CString::new(message.replace('\0', " ")).expect("NULs removed");
            unsafe { log(table.host_data, level, text.as_ptr()) };
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum CommitPath {
    DeduplicationToken,
    QueryLog,
}

/// A table column as DESCRIBE TABLE gives it.
struct TableColumn {
    name: String,
    /// Why the sink cannot write it, when it cannot (the type, or MATERIALIZED/ALIAS).
    kind: Result<ColumnType, String>,
}

/// What open learned about the server and the table.
struct Target {
    columns: Vec<TableColumn>,
    path: CommitPath,
    /// Settings every INSERT carries besides query_id and the path's own.
    insert_settings: Vec<(&'static str, String)>,
}

#[derive(Default)]
struct Epoch {
    /// The INSERT's column list, fixed by the epoch's first batch.
    columns: Vec<String>,
    rows: u64,
    data: Vec<u8>,
}

pub struct Sink {
    config: Config,
    host: Host,
    client: Client,
    /// New for every fresh start and carried in the state, so that a pipeline started again
    /// from scratch (checkpoints wiped, ids from 1 again) never reuses an epoch's token or
    /// query_id, which ClickHouse would take for a repeat and drop.
    run_id: String,
    target: Option<Target>,
    current: Epoch,
    /// Epochs sealed (staged in a file) and not yet known to be in ClickHouse.
    sealed: BTreeSet<u64>,
    /// Sealed epochs an earlier INSERT may already have landed: restored ones, and those with
    /// a failed attempt. On the query-log path they are looked up before being sent again.
    uncertain: BTreeSet<u64>,
}

fn random_run_id() -> String {
    let mut bytes = [0u8; 8];
    if File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = ((nanos as u64) ^ (u64::from(std::process::id()) << 32)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

fn sync_directory(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Sink {
    pub fn new(config: Config, host: Host) -> Sink {
        let client = Client::new(&config);
        Sink {
            config,
            host,
            client,
            run_id: random_run_id(),
            target: None,
            current: Epoch::default(),
            sealed: BTreeSet::new(),
            uncertain: BTreeSet::new(),
        }
    }

    fn epoch_file(&self, epoch: u64) -> PathBuf {
        self.host.state_dir.join(format!("epoch-{}.tsv", epoch))
    }

    /// The INSERT's query_id, and its deduplication token.
    fn query_id(&self, epoch: u64) -> String {
        format!(
            "{}-{}-{}-{}",
            self.host.pipeline, self.host.operator, self.run_id, epoch
        )
    }

    /// Runs `f`, retrying while the server is unreachable (not in a check, and not past `limit`).
    fn retrying<T>(
        &self,
        what: &str,
        limit: Duration,
        mut f: impl FnMut() -> Result<T, ClickHouseError>,
    ) -> Result<T, PluginError> {
        let deadline = Instant::now() + limit;
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match f() {
                Ok(value) => return Ok(value),
                Err(e)
                    if e.is_transport()
                        && !self.host.check_only
                        && Instant::now() + delay < deadline =>
                {
                    self.host.log(
                        abi::SLUICE_LOG_WARN,
                        &format!(
                            "ClickHouse at {} {}; retrying {} in {:.1} s (attempt {})",
                            self.config.url(),
                            e,
                            what,
                            delay.as_secs_f64(),
                            attempt
                        ),
                    );
                    sleep(delay);
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                    attempt += 1;
                }
                Err(e) => {
                    let advice = if e.is_transport() {
                        "; check that ClickHouse runs and that 'url' points at its HTTP port"
                    } else {
                        ""
                    };
                    return Err(PluginError::new(format!(
                        "{} failed: ClickHouse at {} {}{}",
                        what,
                        self.config.url(),
                        e,
                        advice
                    )));
                }
            }
        }
    }

    // MARK: - Lifecycle

    pub fn restore(&mut self, checkpoint: u64, state: &[u8]) -> Result<(), PluginError> {
        if state.is_empty() {
            return Ok(());
        }
        let text = std::str::from_utf8(state).map_err(|_| self.foreign_state(checkpoint))?;
        let mut lines = text.lines();
        if lines.next() != Some(STATE_MAGIC) {
            return Err(self.foreign_state(checkpoint));
        }
        let mut run_id = None;
        let mut epochs = BTreeSet::new();
        for line in lines {
            match line.split_once(' ') {
                Some(("run", id)) if !id.is_empty() => run_id = Some(id.to_string()),
                Some(("epochs", list)) => {
                    for item in list.split_whitespace() {
                        epochs.insert(
                            item.parse::<u64>()
                                .map_err(|_| self.foreign_state(checkpoint))?,
                        );
                    }
                }
                None if line == "epochs" => {}
                _ => return Err(self.foreign_state(checkpoint)),
            }
        }
        self.run_id = run_id.ok_or_else(|| self.foreign_state(checkpoint))?;
        if !epochs.is_empty() {
            let list: Vec<String> = epochs.iter().map(u64::to_string).collect();
            self.host.log(
                abi::SLUICE_LOG_INFO,
                &format!(
                    "checkpoint {} lists sealed epochs {} that may not be in ClickHouse yet; open commits those still staged, idempotently",
                    checkpoint,
                    list.join(", ")
                ),
            );
        }
        self.uncertain = epochs.clone();
        self.sealed = epochs;
        Ok(())
    }

    fn foreign_state(&self, checkpoint: u64) -> PluginError {
        PluginError::new(format!(
            "the state of checkpoint {} for operator '{}' was not written by clickhouse-rs-sink; resume from a checkpoint this sink wrote, or start the pipeline with an empty checkpoint directory",
            checkpoint, self.host.operator
        ))
    }

    pub fn open(&mut self) -> Result<(), PluginError> {
        let limit = if self.host.check_only {
            Duration::ZERO
        } else {
            OPEN_RETRY_LIMIT
        };
        let version = self.retrying("connecting", limit, || {
            self.client.scalar("SELECT version()")
        })?;
        let table = self.config.qualified_table();
        let sql_table = format!(
            "{}.{}",
            quote_identifier(&self.config.database),
            quote_identifier(&self.config.table)
        );
        let exists = self.retrying("checking the table", limit, || {
            self.client.scalar(&format!("EXISTS TABLE {}", sql_table))
        });
        match exists {
            Ok(answer) if answer == "1" => {}
            Ok(_) => return Err(self.missing_table()),
            Err(e) if e.message.contains("Code: 81") => return Err(self.missing_table()),
            Err(e) => return Err(e),
        }
        let describe = self.retrying("reading the table's columns", limit, || {
            self.client.rows(&format!("DESCRIBE TABLE {}", sql_table))
        })?;
        let columns = describe
            .into_iter()
            .filter(|row| row.len() >= 2)
            .map(|row| {
                let default_kind = row.get(2).map(String::as_str).unwrap_or("");
                let kind = if default_kind == "MATERIALIZED" || default_kind == "ALIAS" {
                    Err(format!(
                        "is a {} column, which no INSERT can write",
                        default_kind
                    ))
                } else {
                    ColumnType::parse(&row[1])
                };
                TableColumn {
                    name: row[0].clone(),
                    kind,
                }
            })
            .collect();
        let settings: BTreeSet<String> = self
            .retrying("reading the server's settings", limit, || {
                self.client.rows("SELECT name FROM system.settings WHERE name IN ('insert_deduplication_token', 'async_insert', 'input_format_parallel_parsing')")
            })?
            .into_iter()
            .filter_map(|row| row.into_iter().next())
            .collect();
        let (path, why) = self.choose_path(&version, &settings, limit)?;
        if path == CommitPath::QueryLog {
            self.require_query_log(&version, limit)?;
        }
        let mut insert_settings = Vec::new();
        // Everything the commit relies on is set explicitly, whatever the user's profile says:
        // an async insert is acknowledged before it is written, and parallel parsing would cut
        // one epoch into several parts that a crash could leave half inserted.
        if settings.contains("async_insert") {
            insert_settings.push(("async_insert", "0".to_string()));
        }
        if settings.contains("input_format_parallel_parsing") {
            insert_settings.push(("input_format_parallel_parsing", "0".to_string()));
        }
        self.host.log(
            abi::SLUICE_LOG_INFO,
            &format!(
                "exactly-once into {} on ClickHouse {} at {}: {}",
                table,
                version,
                self.config.url(),
                why
            ),
        );
        self.target = Some(Target {
            columns,
            path,
            insert_settings,
        });
        if self.host.check_only {
            return Ok(());
        }
        self.remove_stray_files()?;
        for epoch in self.sealed.clone() {
            self.commit(epoch)?;
        }
        Ok(())
    }

    fn missing_table(&self) -> PluginError {
        PluginError::config(
            format!(
                "table {} does not exist on ClickHouse at {}: create it first (see Examples/rust-clickhouse-sink/README.md), or correct 'table' and 'database'",
                self.config.qualified_table(),
                self.config.url()
            ),
            "/table",
        )
    }

    fn choose_path(
        &self,
        version: &str,
        settings: &BTreeSet<String>,
        limit: Duration,
    ) -> Result<(CommitPath, String), PluginError> {
        if !settings.contains("insert_deduplication_token") {
            return Ok((
                CommitPath::QueryLog,
                format!("idempotent by query_id: server {} has no insert_deduplication_token (added in 22.2), so an epoch that may have landed is looked up in system.query_log before it is sent again", version),
            ));
        }
        let facts = self.retrying("reading the table's engine", limit, || {
            self.client.rows(&format!(
                "SELECT engine, create_table_query FROM system.tables WHERE database = {} AND name = {}",
                quote_string(&self.config.database),
                quote_string(&self.config.table)
            ))
        })?;
        let (engine, create) = match facts.first() {
            Some(row) if row.len() >= 2 => (row[0].clone(), row[1].clone()),
            _ => (String::new(), String::new()),
        };
        if engine.starts_with("Replicated") {
            return Ok((
                CommitPath::DeduplicationToken,
                format!(
                    "idempotent by insert_deduplication_token ({} deduplicates inserts)",
                    engine
                ),
            ));
        }
        if engine.ends_with("MergeTree") {
            let window = match table_setting(&create, "non_replicated_deduplication_window") {
                Some(w) => w,
                None => self
                    .retrying("reading the server's MergeTree settings", limit, || {
                        self.client.scalar("SELECT value FROM system.merge_tree_settings WHERE name = 'non_replicated_deduplication_window'")
                    })?
                    .parse()
                    .unwrap_or(0),
            };
            if window > 0 {
                return Ok((
                    CommitPath::DeduplicationToken,
                    format!("idempotent by insert_deduplication_token ({} keeps the last {} insert ids: non_replicated_deduplication_window)", engine, window),
                ));
            }
            return Ok((
                CommitPath::QueryLog,
                format!("idempotent by query_id: {} table has non_replicated_deduplication_window = 0, so an epoch that may have landed is looked up in system.query_log (set the window on the table to use insert_deduplication_token)", engine),
            ));
        }
        Ok((CommitPath::QueryLog, format!("idempotent by query_id: engine {} does not deduplicate inserts, so an epoch that may have landed is looked up in system.query_log", engine)))
    }

    /// system.query_log is created by the server's first flush with something to write, so on a
    /// fresh server it may be missing although the log is on: log a query and flush, a few
    /// times, before concluding that the server keeps no query log.
    fn require_query_log(&self, version: &str, limit: Duration) -> Result<(), PluginError> {
        let exists = || {
            self.client.scalar("SELECT count() FROM system.tables WHERE database = 'system' AND name = 'query_log'")
        };
        if self.retrying("looking for system.query_log", limit, exists)? == "1" {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            self.retrying("probing the query log", limit, || {
                self.client
                    .execute("SELECT 1", &[("log_queries", "1".into())])
            })?;
            self.retrying("probing the query log", limit, || {
                self.client.execute("SYSTEM FLUSH LOGS", &[])
            })?;
            if self.retrying("looking for system.query_log", limit, exists)? == "1" {
                return Ok(());
            }
            sleep(Duration::from_millis(50));
        }
        Err(PluginError::new(format!(
            "exactly-once into ClickHouse {} at {} needs the query log (system.query_log), which this server does not keep: enable <query_log> in its configuration, or use a MergeTree table with non_replicated_deduplication_window on ClickHouse 22.2 or later",
            version,
            self.config.url()
        )))
    }

    /// Deletes epoch files the restored state does not list (sealed by a checkpoint that never
    /// completed: the source replays their rows) and temporary files of an interrupted seal.
    fn remove_stray_files(&self) -> Result<(), PluginError> {
        let dir = &self.host.state_dir;
        let entries = fs::read_dir(dir).map_err(|e| {
            PluginError::new(format!(
                "cannot list the state directory {}: {}",
                dir.display(),
                e
            ))
        })?;
        let mut removed = false;
        for entry in entries {
            let entry = entry.map_err(|e| {
                PluginError::new(format!(
                    "cannot list the state directory {}: {}",
                    dir.display(),
                    e
                ))
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let stray = if name.ends_with(".tmp") && name.starts_with("epoch-") {
                true
            } else if let Some(id) = name
                .strip_prefix("epoch-")
                .and_then(|n| n.strip_suffix(".tsv"))
            {
                id.parse::<u64>().is_ok_and(|id| !self.sealed.contains(&id))
            } else {
                false
            };
            if stray {
                fs::remove_file(entry.path()).map_err(|e| {
                    PluginError::new(format!("cannot delete {}: {}", entry.path().display(), e))
                })?;
                removed = true;
                self.host.log(abi::SLUICE_LOG_INFO, &format!("deleted {}: its checkpoint never completed, and the source replays its rows", name));
            }
        }
        if removed {
            sync_directory(dir)?;
        }
        Ok(())
    }

    // MARK: - Data

    pub fn write(&mut self, schema: &ArrowSchema, array: &ArrowArray) -> Result<(), PluginError> {
        let target = self
            .target
            .as_ref()
            .ok_or_else(|| PluginError::new("sink_write before open; this is a bug in the host"))?;
        // SAFETY: the host moved a valid batch in; it is released after this returns.
        let batch = unsafe { arrow::view(schema, array) }
            .map_err(|m| PluginError::new(format!("cannot read the batch: {}", m)))?;
        if batch.length == 0 {
            return Ok(());
        }
        let table = self.config.qualified_table();
        let mut types = Vec::with_capacity(batch.columns.len());
        for (i, column) in batch.columns.iter().enumerate() {
            if batch.columns[..i].iter().any(|c| c.name == column.name) {
                return Err(PluginError::new(format!(
                    "the batch has two columns named '{}'; rename one upstream",
                    column.name
                )));
            }
            let Some(table_column) = target.columns.iter().find(|c| c.name == column.name) else {
                let names: Vec<&str> = target.columns.iter().map(|c| c.name.as_str()).collect();
                return Err(PluginError::config(
                    format!(
                        "column '{}' of the batch is not in table {} (its columns: {}); add the column to the table, or drop or rename it upstream",
                        column.name,
                        table,
                        names.join(", ")
                    ),
                    "/table",
                ));
            };
            let ty = table_column.kind.as_ref().map_err(|why| {
                PluginError::config(format!("column '{}' of table {}: {}; leave it out of the batch, or change the column", column.name, table, why), "/table")
            })?;
            if !ty.accepts(column.kind) {
                return Err(PluginError::config(
                    format!(
                        "column '{}': Arrow type \"{}\" cannot go into ClickHouse type {} of table {}; change the column's type or convert it upstream",
                        column.name, column.format, ty.text, table
                    ),
                    "/table",
                ));
            }
            types.push(ty);
        }
        // The epoch's file has one column list, fixed by its first batch; a batch with other
        // columns cannot join it.
        let first_batch = self.current.columns.is_empty();
        let order: Vec<usize> = if first_batch {
            (0..batch.columns.len()).collect()
        } else {
            self.current
                .columns
                .iter()
                .filter_map(|name| batch.columns.iter().position(|c| &c.name == name))
                .collect()
        };
        if order.len() != batch.columns.len()
            || (!first_batch && order.len() != self.current.columns.len())
        {
            let got: Vec<&str> = batch.columns.iter().map(|c| c.name.as_str()).collect();
            return Err(PluginError::new(format!(
                "a batch has columns ({}) other than the earlier batches of this checkpoint interval ({}); this sink needs the same columns in every batch",
                got.join(", "),
                self.current.columns.join(", ")
            )));
        }
        let start = self.current.data.len();
        let data = &mut self.current.data;
        for row in 0..batch.length {
            let whole_row_null = batch.row_is_null(row);
            for (k, &index) in order.iter().enumerate() {
                if k > 0 {
                    data.push(b'\t');
                }
                let column = &batch.columns[index];
                let cell = if whole_row_null {
                    Cell::Null
                } else {
                    match column.get(row) {
                        Ok(cell) => cell,
                        Err(m) => {
                            data.truncate(start);
                            return Err(PluginError::new(format!("cannot read the batch: {}", m)));
                        }
                    }
                };
                if let Err(why) = tsv::write_cell(data, cell, types[index], column.unit()) {
                    data.truncate(start);
                    return Err(PluginError::config(
                        format!(
                            "column '{}', row {} of the batch {}; fix the data upstream (or send such rows to dead letters), or change the column of table {}",
                            column.name, row, why, table
                        ),
                        "/table",
                    ));
                }
            }
            data.push(b'\n');
        }
        if first_batch {
            self.current.columns = batch.columns.iter().map(|c| c.name.clone()).collect();
        }
        self.current.rows += batch.length as u64;
        Ok(())
    }

    // MARK: - Checkpoints

    /// Seals the epoch in progress as epoch `checkpoint` (durably, in the state directory) and
    /// returns the state: the run id and every sealed epoch not yet committed.
    pub fn snapshot(&mut self, checkpoint: u64) -> Result<Vec<u8>, PluginError> {
        if self.current.rows > 0 {
            let mut header = Vec::new();
            for (i, name) in self.current.columns.iter().enumerate() {
                if i > 0 {
                    header.push(b'\t');
                }
                tsv::escape(&mut header, name.as_bytes());
            }
            header.push(b'\n');
            let path = self.epoch_file(checkpoint);
            self.write_durably(&path, &[&header, &self.current.data]).map_err(|e| {
                PluginError::new(format!(
                    "cannot seal epoch {} ({} rows) into {}: {}; check the disk (space, permissions)",
                    checkpoint,
                    self.current.rows,
                    path.display(),
                    e
                ))
            })?;
            self.sealed.insert(checkpoint);
        }
        let keep_capacity = self.current.data.capacity() <= 64 << 20;
        self.current.columns.clear();
        self.current.rows = 0;
        if keep_capacity {
            self.current.data.clear();
        } else {
            self.current.data = Vec::new();
        }
        let epochs: Vec<String> = self.sealed.iter().map(u64::to_string).collect();
        Ok(format!(
            "{}\nrun {}\nepochs {}\n",
            STATE_MAGIC,
            self.run_id,
            epochs.join(" ")
        )
        .into_bytes())
    }

    fn write_durably(&self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        {
            let mut file = File::create(&temporary)?;
            for part in parts {
                file.write_all(part)?;
            }
            file.sync_all()?;
        }
        fs::rename(&temporary, path)?;
        sync_directory(&self.host.state_dir)
    }

    pub fn checkpoint_complete(&mut self, checkpoint: u64) -> Result<(), PluginError> {
        let due: Vec<u64> = self.sealed.range(..=checkpoint).copied().collect();
        for epoch in due {
            self.commit(epoch)?;
        }
        Ok(())
    }

    pub fn checkpoint_aborted(&mut self, checkpoint: u64) {
        // The sealed epoch stays: the next completed checkpoint commits it with its own.
        self.host.log(
            abi::SLUICE_LOG_DEBUG,
            &format!("checkpoint {} aborted; its sealed epoch, if any, is committed with the next checkpoint", checkpoint),
        );
    }

    /// Inserts sealed epoch `epoch` as one INSERT, unless it is known to be in ClickHouse
    /// already, then deletes its file. A missing file means an earlier life committed it.
    fn commit(&mut self, epoch: u64) -> Result<(), PluginError> {
        let path = self.epoch_file(epoch);
        let contents = match fs::read(&path) {
            Ok(contents) => contents,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.sealed.remove(&epoch);
                self.uncertain.remove(&epoch);
                return Ok(());
            }
            Err(e) => {
                return Err(PluginError::new(format!(
                    "cannot read sealed epoch {} from {}: {}",
                    epoch,
                    path.display(),
                    e
                )))
            }
        };
        let Some(newline) = contents.iter().position(|&b| b == b'\n') else {
            return Err(PluginError::new(format!(
                "{} has no column line; it was not written by this sink or is damaged: delete it only if its rows may be lost",
                path.display()
            )));
        };
        let columns: Vec<String> = contents[..newline]
            .split(|&b| b == b'\t')
            .map(|name| String::from_utf8_lossy(&tsv::unescape(name)).into_owned())
            .collect();
        let rows = &contents[newline + 1..];
        let row_count = rows.iter().filter(|&&b| b == b'\n').count();
        let query_id = self.query_id(epoch);
        let target = self
            .target
            .as_ref()
            .ok_or_else(|| PluginError::new("commit before open; this is a bug in the host"))?;
        let path_kind = target.path;
        let mut settings: Vec<(&str, String)> = vec![("query_id", query_id.clone())];
        // One block for the whole epoch: the INSERT is then one part, all or nothing.
        settings.push((
            "max_insert_block_size",
            (row_count as u64 + 1).max(1_048_576).to_string(),
        ));
        match path_kind {
            CommitPath::DeduplicationToken => {
                settings.push(("insert_deduplication_token", query_id.clone()));
                settings.push(("insert_deduplicate", "1".to_string()));
            }
            CommitPath::QueryLog => settings.push(("log_queries", "1".to_string())),
        }
        settings.extend(target.insert_settings.iter().cloned());

        let deadline = Instant::now() + COMMIT_RETRY_LIMIT;
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            let uncertain = self.uncertain.contains(&epoch);
            let outcome = match path_kind {
                CommitPath::QueryLog if uncertain => match self.landed(&query_id) {
                    Ok(true) => {
                        self.host.log(
                            abi::SLUICE_LOG_INFO,
                            &format!("epoch {} ({} rows) is in ClickHouse already (query {} finished); not inserting it again", epoch, row_count, query_id),
                        );
                        Ok(())
                    }
                    Ok(false) => {
                        self.host.log(
                            abi::SLUICE_LOG_INFO,
                            &format!("epoch {} ({} rows) is not in ClickHouse (no finished query {}); inserting it", epoch, row_count, query_id),
                        );
                        self.client.insert(&columns, rows, &settings)
                    }
                    Err(e) => Err(e),
                },
                CommitPath::DeduplicationToken if uncertain => {
                    self.host.log(
                        abi::SLUICE_LOG_INFO,
                        &format!(
                            "epoch {} ({} rows) may be in ClickHouse already; inserting it again with its deduplication token, which ClickHouse drops if it has seen it",
                            epoch, row_count
                        ),
                    );
                    self.client.insert(&columns, rows, &settings)
                }
                _ => self.client.insert(&columns, rows, &settings),
            };
            match outcome {
                Ok(()) => break,
                Err(e) => {
                    if !e.before_sending() {
                        self.uncertain.insert(epoch);
                    }
                    let retry =
                        e.is_transport() || e.code() == Some(clickhouse::QUERY_ALREADY_RUNNING);
                    if retry && !self.host.check_only && Instant::now() + delay < deadline {
                        self.host.log(
                            abi::SLUICE_LOG_WARN,
                            &format!(
                                "ClickHouse at {} {}; retrying commit of epoch {} ({} rows) in {:.1} s (attempt {})",
                                self.config.url(),
                                e,
                                epoch,
                                row_count,
                                delay.as_secs_f64(),
                                attempt
                            ),
                        );
                        sleep(delay);
                        delay = (delay * 2).min(MAX_RETRY_DELAY);
                        attempt += 1;
                        continue;
                    }
                    let advice = if e.is_transport() {
                        "check that ClickHouse runs and is reachable"
                    } else {
                        "fix what ClickHouse says"
                    };
                    return Err(PluginError::new(format!(
                        "committing epoch {} ({} rows) into {} failed: ClickHouse at {} {}; {}; the epoch stays staged in {} and is committed when the pipeline resumes",
                        epoch,
                        row_count,
                        self.config.qualified_table(),
                        self.config.url(),
                        e,
                        advice,
                        path.display()
                    )));
                }
            }
        }
        fs::remove_file(&path).map_err(|e| {
            PluginError::new(format!(
                "epoch {} is in ClickHouse, but {} cannot be deleted: {}",
                epoch,
                path.display(),
                e
            ))
        })?;
        sync_directory(&self.host.state_dir)?;
        self.sealed.remove(&epoch);
        self.uncertain.remove(&epoch);
        self.host.log(
            abi::SLUICE_LOG_DEBUG,
            &format!("committed epoch {} ({} rows)", epoch, row_count),
        );
        Ok(())
    }

    /// Whether the INSERT with `query_id` finished on the server: waits while it still runs
    /// (a killed client's query ends when the server notices the connection is gone), flushes
    /// the logs and looks for its QueryFinish (type 2: an Enum on newer servers, a number on
    /// 18.x) with rows written.
    fn landed(&self, query_id: &str) -> Result<bool, ClickHouseError> {
        let quoted = quote_string(query_id);
        let started = Instant::now();
        let mut told = false;
        while self.client.scalar(&format!(
            "SELECT count() FROM system.processes WHERE query_id = {}",
            quoted
        ))? != "0"
        {
            if !told {
                self.host.log(
                    abi::SLUICE_LOG_INFO,
                    &format!(
                        "waiting for query {} still running on ClickHouse to finish",
                        query_id
                    ),
                );
                told = true;
            }
            if started.elapsed() > RUNNING_QUERY_LIMIT {
                return Err(ClickHouseError::Server {
                    status: 0,
                    code: None,
                    message: format!("query {} is still running after {} s; stop it (KILL QUERY) and restart the pipeline", query_id, RUNNING_QUERY_LIMIT.as_secs()),
                });
            }
            sleep(Duration::from_millis(100));
        }
        self.client.execute("SYSTEM FLUSH LOGS", &[])?;
        let finished = self.client.scalar(&format!(
            "SELECT count() FROM system.query_log WHERE query_id = {} AND toUInt8(type) = 2 AND written_rows > 0",
            quoted
        ))?;
        Ok(finished != "0")
    }

    pub fn close(&mut self) {
        if self.current.rows > 0 {
            self.host.log(
                abi::SLUICE_LOG_DEBUG,
                &format!(
                    "closing with {} rows after the last checkpoint; the source replays them",
                    self.current.rows
                ),
            );
        }
    }
}

/// `name = N` from the SETTINGS clause of a CREATE TABLE statement.
fn table_setting(create: &str, name: &str) -> Option<u64> {
    let at = create.find(name)? + name.len();
    let rest = create[at..].trim_start().strip_prefix('=')?.trim_start();
    rest.chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_table_setting() {
        let create = "CREATE TABLE d.t (x Int64) ENGINE = MergeTree ORDER BY x SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000";
        assert_eq!(
            table_setting(create, "non_replicated_deduplication_window"),
            Some(1000)
        );
        assert_eq!(table_setting(create, "missing"), None);
    }
}
