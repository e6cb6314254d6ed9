-- Tables of the sensor pipeline (pipelines/sensors.yaml). Work on ClickHouse 18.16 and later.
--   clickhouse-client --multiquery < pipelines/sensors.sql

CREATE TABLE sensor_readings (
  sensor_id String, ts DateTime, temperature Float64, humidity Nullable(Float64),
  battery UInt8, status String, site String, seq UInt64
) ENGINE = MergeTree ORDER BY (sensor_id, ts);

-- Rows the sensor parser rejected (the pipeline's dead_letter sink).
CREATE TABLE sensor_readings_errors (
  error_reason String, error_operator String, payload String, topic String, message_id String,
  received_at DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY received_at;
