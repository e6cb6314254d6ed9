import Foundation
import XCTest

/// A pipeline from the C sequence source into a ClickHouse table.
func clickHousePipeline(directory: String, url: String, table: String, count: Int, rate: Int, batchSize: Int = 250,
                        interval: String = "200ms", sinkExtra: String = "") -> String {
    let path = directory + "/pipeline.yaml"
    let yaml = """
    name: ch-\(table)
    source:
      plugin: \(Built.sequenceSource)
      config: { count: \(count), batch_size: \(batchSize), rate: \(rate) }
    sink:
      plugin: \(Built.productsDirectory)/libSluiceClickHouseSink.so
      name: clickhouse
      config: { url: "\(url)", table: \(table)\(sinkExtra) }
    checkpointing:
      interval: \(interval)
      directory: \(directory)/checkpoints
      retained: 3
      mode: exactly-once
    restart: { initial_delay: 50ms, max_delay: 200ms, multiplier: 2 }
    """
    try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
