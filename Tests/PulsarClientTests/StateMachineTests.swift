@testable import PulsarClient
import XCTest

final class ConnectionStateMachineTests: XCTestCase {
    private func command(_ type: Pulsar_Proto_BaseCommand.TypeEnum, _ fill: (inout Pulsar_Proto_BaseCommand) -> Void = { _ in }) -> Pulsar_Proto_BaseCommand {
        var c = Pulsar_Proto_BaseCommand()
        c.type = type
        fill(&c)
        return c
    }

    func testHandshakeQueuesRequestsUntilConnected() {
        var sm = ConnectionStateMachine()
        XCTAssertEqual(sm.channelActive(), .sendConnect)
        XCTAssertEqual(sm.sendRequest(1, now: 0), .none)
        XCTAssertEqual(sm.sendRequest(2, now: 0), .none)
        let connected = command(.connected) { $0.connected.serverVersion = "lite"; $0.connected.maxMessageSize = 1000 }
        XCTAssertEqual(sm.received(connected), .connected(flush: [1, 2]))
        XCTAssertEqual(sm.state, .ready(serverVersion: "lite", maxMessageSize: 1000))
        XCTAssertEqual(sm.sendRequest(3, now: 0), .sendRequest(3))
    }

    func testResponsesMatchRequestsAndLateAnswersAreIgnored() {
        var sm = ConnectionStateMachine()
        _ = sm.channelActive()
        _ = sm.received(command(.connected))
        _ = sm.sendRequest(5, now: 0)
        _ = sm.sendRequest(6, now: 0)
        XCTAssertEqual(sm.received(command(.success) { $0.success.requestID = 5 }), .succeedRequest(5))
        XCTAssertEqual(sm.received(command(.success) { $0.success.requestID = 5 }), .none)
        let error = command(.error) { $0.error.requestID = 6; $0.error.error = .topicNotFound; $0.error.message = "no" }
        XCTAssertEqual(sm.received(error), .failRequest(6, .server(code: "topicNotFound", message: "no")))
        XCTAssertEqual(sm.pendingRequestCount, 0)
    }

    func testAuthenticationErrorDuringHandshakeClosesTheConnection() {
        var sm = ConnectionStateMachine()
        _ = sm.channelActive()
        _ = sm.sendRequest(1, now: 0)
        let error = command(.error) { $0.error.requestID = 0; $0.error.error = .authenticationError; $0.error.message = "bad token" }
        XCTAssertEqual(sm.received(error), .closeConnection(.server(code: "authenticationError", message: "bad token"), failing: [1]))
        XCTAssertEqual(sm.channelInactive(), .connectionClosed(.closed, failing: []))
    }

    func testPingPongAndDeadBroker() {
        var sm = ConnectionStateMachine()
        _ = sm.channelActive()
        _ = sm.received(command(.connected))
        XCTAssertEqual(sm.received(command(.ping)), .sendPong)
        XCTAssertEqual(sm.keepAliveTick(), .sendPing)
        XCTAssertEqual(sm.received(command(.pong)), .none)
        XCTAssertEqual(sm.keepAliveTick(), .sendPing)
        _ = sm.sendRequest(9, now: 0)
        guard case .closeConnection(_, let failing) = sm.keepAliveTick() else { return XCTFail("a missing pong must close") }
        XCTAssertEqual(failing, [9])
    }

    func testRequestTimeouts() {
        var sm = ConnectionStateMachine()
        _ = sm.channelActive()
        _ = sm.received(command(.connected))
        _ = sm.sendRequest(1, now: 1_000)
        _ = sm.sendRequest(2, now: 5_000)
        XCTAssertEqual(sm.checkTimeouts(now: 3_000, timeout: 10_000), .none)
        guard case .failRequests([1], .timeout) = sm.checkTimeouts(now: 11_000, timeout: 10_000) else { return XCTFail() }
        XCTAssertEqual(sm.pendingRequestCount, 1)
    }

    func testRoutingAndConnectionLoss() {
        var sm = ConnectionStateMachine()
        _ = sm.channelActive()
        _ = sm.received(command(.connected))
        XCTAssertEqual(sm.received(command(.message) { $0.message.consumerID = 4 }), .forwardToConsumer(4))
        XCTAssertEqual(sm.received(command(.sendReceipt) { $0.sendReceipt.producerID = 8 }), .forwardToProducer(8))
        XCTAssertEqual(sm.received(command(.closeConsumer) { $0.closeConsumer.consumerID = 4 }), .forwardToConsumer(4))
        _ = sm.sendRequest(3, now: 0)
        guard case .connectionClosed(.connectionClosed, [3]) = sm.channelInactive() else { return XCTFail() }
        XCTAssertEqual(sm.sendRequest(4, now: 0), .failRequest(4, .connectionClosed("the connection is closed")))
    }
}

final class ConsumerStateMachineTests: XCTestCase {
    func testSubscribeGrantsTheReceiverQueueAndRefillsAtHalf() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10)
        XCTAssertEqual(sm.subscribe(requestID: 1), .sendSubscribe(requestID: 1))
        XCTAssertEqual(sm.subscribeSucceeded(), .sendFlow(permits: 10))
        XCTAssertEqual(sm.consumed(3), .none)
        XCTAssertEqual(sm.consumed(2), .sendFlow(permits: 5))
        XCTAssertEqual(sm.consumed(4), .none)
        XCTAssertEqual(sm.consumed(7), .sendFlow(permits: 11))
    }

    func testRedeliveredMessagesAreSkipped() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        XCTAssertEqual(sm.received(MessageID(ledger: 1, entry: 1, batchIndex: 0), completesEntry: false), .deliver)
        XCTAssertEqual(sm.received(MessageID(ledger: 1, entry: 1, batchIndex: 1), completesEntry: true), .deliver)
        // Connection lost, broker redelivers from the last acknowledgement.
        guard case .scheduleReconnect(let delay, 1) = sm.connectionLost() else { return XCTFail() }
        XCTAssertEqual(delay, 100_000_000)
        XCTAssertEqual(sm.subscribe(requestID: 2), .sendSubscribe(requestID: 2))
        XCTAssertEqual(sm.subscribeSucceeded(), .sendFlow(permits: 10))
        XCTAssertEqual(sm.received(MessageID(ledger: 1, entry: 1, batchIndex: 0), completesEntry: false), .skip)
        XCTAssertEqual(sm.received(MessageID(ledger: 1, entry: 1, batchIndex: 1), completesEntry: true), .skip)
        XCTAssertEqual(sm.received(MessageID(ledger: 1, entry: 2, batchIndex: 0), completesEntry: true), .deliver)
    }

    func testRestoredPositionIsSkippedAndItsCompletedEntriesAcknowledged() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, startAfter: Position(ledger: 2, entry: 5, batchIndex: 1))
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 4, batchIndex: -1, partition: 3), completesEntry: true),
                       .skipAndAcknowledge(MessageID(ledger: 2, entry: 4, partition: 3)))
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 5, batchIndex: 0), completesEntry: false), .skip)
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 5, batchIndex: 1), completesEntry: false), .skip)
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 5, batchIndex: 2), completesEntry: true), .deliver)
    }

    func testBackoffDoublesUpToTenSecondsAndResets() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        var delays: [UInt64] = []
        if case .scheduleReconnect(let d, _) = sm.connectionLost() { delays.append(d) }
        for _ in 0..<9 { if case .scheduleReconnect(let d, _) = sm.reconnectFailed() { delays.append(d) } }
        XCTAssertEqual(delays.map { $0 / 1_000_000 }, [100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000])
        _ = sm.subscribe(requestID: 2)
        _ = sm.subscribeSucceeded()
        sm.resetBackoff()
        guard case .scheduleReconnect(100_000_000, 1) = sm.connectionLost() else { return XCTFail() }
    }

    func testNonRetryableSubscribeErrorFails() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10)
        _ = sm.subscribe(requestID: 1)
        let error = PulsarError.server(code: "authorizationError", message: "no")
        XCTAssertEqual(sm.subscribeFailed(error), .fail(error))
        XCTAssertEqual(sm.state, .failed(error))
    }

    func testClose() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        XCTAssertEqual(sm.close(requestID: 7), .sendCloseConsumer(requestID: 7))
        XCTAssertEqual(sm.consumed(100), .none)
        XCTAssertEqual(sm.closeAnswered(), .closed)
    }
}

final class ProducerStateMachineTests: XCTestCase {
    func testSendsWaitForCreationThenReceiptsCompleteInOrder() {
        var sm = ProducerStateMachine()
        XCTAssertEqual(sm.create(requestID: 1), .sendProducer(requestID: 1))
        XCTAssertEqual(sm.send(sequenceID: 0), .none)
        XCTAssertEqual(sm.send(sequenceID: 10), .none)
        XCTAssertEqual(sm.created(name: "p-1"), .send([0, 10]))
        XCTAssertEqual(sm.send(sequenceID: 20), .send([20]))
        XCTAssertEqual(sm.receipt(sequenceID: 10, messageID: nil), .complete([0, 10], nil))
        XCTAssertEqual(sm.receipt(sequenceID: 10, messageID: nil), .none)
        XCTAssertEqual(sm.inFlight, [20])
    }

    func testReconnectResendsWhatWasInFlight() {
        var sm = ProducerStateMachine()
        _ = sm.create(requestID: 1)
        _ = sm.created(name: "p")
        _ = sm.send(sequenceID: 0)
        _ = sm.send(sequenceID: 5)
        guard case .scheduleReconnect(_, 1) = sm.connectionLost() else { return XCTFail() }
        XCTAssertEqual(sm.send(sequenceID: 9), .none)
        XCTAssertEqual(sm.create(requestID: 2), .sendProducer(requestID: 2))
        XCTAssertEqual(sm.created(name: "p"), .send([0, 5, 9]))
    }

    func testCloseFailsWhatNeverGotAReceipt() {
        var sm = ProducerStateMachine()
        _ = sm.create(requestID: 1)
        _ = sm.created(name: "p")
        _ = sm.send(sequenceID: 0)
        XCTAssertEqual(sm.close(requestID: 2), .sendCloseProducer(requestID: 2))
        XCTAssertEqual(sm.send(sequenceID: 1), .fail([1], .closed))
        XCTAssertEqual(sm.closeAnswered(), .fail([0], .closed))
    }
}

final class NamesTests: XCTestCase {
    func testTopicNames() throws {
        XCTAssertEqual(try TopicName("sensors").description, "persistent://public/default/sensors")
        XCTAssertEqual(try TopicName("acme/iot/sensors").description, "persistent://acme/iot/sensors")
        XCTAssertEqual(try TopicName("non-persistent://a/b/c").description, "non-persistent://a/b/c")
        XCTAssertEqual(try TopicName("t").partition(3), "persistent://public/default/t-partition-3")
        for bad in ["", "a/b", "persistent://a/b", "kafka://a/b/c", "persistent://a//c", "has space", "persistent://a/b/c/d"] {
            XCTAssertThrowsError(try TopicName(bad), bad)
        }
    }

    func testServiceURLsAndMessageIDs() throws {
        let url = try ServiceURL("pulsar://127.0.0.1:6650")
        XCTAssertEqual(url.host, "127.0.0.1")
        XCTAssertEqual(url.port, 6650)
        for bad in ["http://x:1", "pulsar://x", "pulsar://x:0", "pulsar://:1", "pulsar://x:y"] {
            XCTAssertThrowsError(try ServiceURL(bad), bad)
        }
        let id = MessageID(ledger: 1, entry: 2, batchIndex: 3, partition: 4)
        XCTAssertEqual(id.description, "1:2:3:4")
        XCTAssertEqual(MessageID("1:2:3:4"), id)
        XCTAssertLessThan(Position(ledger: 1, entry: 2, batchIndex: 3), Position(ledger: 1, entry: 3, batchIndex: -1))
        XCTAssertLessThan(Position(ledger: 1, entry: 9, batchIndex: 9), Position(ledger: 2, entry: 0, batchIndex: -1))
    }

    func testSensorSamplesAreDeterministicAndMalformedAtTheRequestedShare() throws {
        let valid = SensorSamples()
        XCTAssertEqual(valid.sample(seq: 42).payload, valid.sample(seq: 42).payload)
        let sample = try JSONSerialization.jsonObject(with: Data(valid.sample(seq: 42).payload)) as! [String: Any]
        XCTAssertEqual(sample["seq"] as? Int, 42)
        XCTAssertNotNil(sample["sensor_id"] as? String)
        let bad = SensorSamples(malformedPercent: 10)
        let count = (1...10_000).filter { bad.sample(seq: $0).malformation != nil }.count
        XCTAssertTrue((800...1200).contains(count), "\(count)")
    }
}

import Foundation
