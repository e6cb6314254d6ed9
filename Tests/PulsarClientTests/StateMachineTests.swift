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

    func testAckResponsesCompleteAckRequests() {
        var sm = ConnectionStateMachine()
        _ = sm.channelActive()
        _ = sm.received(command(.connected))
        _ = sm.sendRequest(4, now: 0)
        _ = sm.sendRequest(5, now: 0)
        XCTAssertEqual(sm.received(command(.ackResponse) { $0.ackResponse.consumerID = 1; $0.ackResponse.requestID = 4 }), .succeedRequest(4))
        let refused = command(.ackResponse) { $0.ackResponse.requestID = 5; $0.ackResponse.error = .unknownError; $0.ackResponse.message = "no" }
        XCTAssertEqual(sm.received(refused), .failRequest(5, .server(code: "unknownError", message: "no")))
        XCTAssertEqual(sm.pendingRequestCount, 0)
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
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)])
        XCTAssertEqual(sm.consumed(3), .none)
        XCTAssertEqual(sm.consumed(2), .sendFlow(permits: 5))
        XCTAssertEqual(sm.consumed(4), .none)
        XCTAssertEqual(sm.consumed(7), .sendFlow(permits: 11))
    }

    func testEntryCountingBrokerIsGrantedEntriesSizedByTheAverageEntry() {
        var sm = ConsumerStateMachine(receiverQueueSize: 1000)
        _ = sm.subscribe(requestID: 1)
        XCTAssertEqual(sm.subscribeSucceeded(permitsPerEntry: true), [.sendFlow(permits: 1)], "one entry first: its size is unknown")
        // An entry of 100 messages: room for 9 more of that size.
        XCTAssertEqual(sm.entryReceived(messages: 100), .sendFlow(permits: 9))
        for _ in 0..<9 { XCTAssertEqual(sm.entryReceived(messages: 100), .none, "the queue is full: nothing more") }
        XCTAssertEqual(sm.consumed(400), .none, "less than half the queue is free")
        XCTAssertEqual(sm.consumed(200), .sendFlow(permits: 6))
        // After a reconnect the broker forgot its permits; what is still queued counts.
        _ = sm.connectionLost()
        _ = sm.subscribe(requestID: 2)
        XCTAssertEqual(sm.subscribeSucceeded(permitsPerEntry: true), [.sendFlow(permits: 6)])
    }

    /// Large messages: the bytes bound the grants as well as the message count.
    func testEntryGrantsAreBoundedByBytes() {
        var sm = ConsumerStateMachine(receiverQueueSize: 1000, receiverQueueBytes: 10 << 20)
        _ = sm.subscribe(requestID: 1)
        XCTAssertEqual(sm.subscribeSucceeded(permitsPerEntry: true), [.sendFlow(permits: 1)])
        // An entry of one 1 MiB message: 999 fit by count, 9 more by bytes.
        XCTAssertEqual(sm.entryReceived(messages: 1, bytes: 1 << 20), .sendFlow(permits: 9))
        for _ in 0..<9 { XCTAssertEqual(sm.entryReceived(messages: 1, bytes: 1 << 20), .none) }
        XCTAssertEqual(sm.consumed(4, bytes: 4 << 20), .none, "less than half the bytes are free")
        XCTAssertEqual(sm.consumed(1, bytes: 1 << 20), .sendFlow(permits: 5))
        // One entry larger than the whole bound still flows when nothing is queued.
        var big = ConsumerStateMachine(receiverQueueSize: 1000, receiverQueueBytes: 1 << 20)
        _ = big.subscribe(requestID: 1)
        _ = big.subscribeSucceeded(permitsPerEntry: true)
        XCTAssertEqual(big.entryReceived(messages: 1, bytes: 5 << 20), .none)
        XCTAssertEqual(big.consumed(1, bytes: 5 << 20), .sendFlow(permits: 1))
    }

    /// Per-message permits: FLOWs wait while more than half the bytes are queued.
    func testMessagePermitsWaitWhileTheBytesAreQueued() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, receiverQueueBytes: 1000)
        _ = sm.subscribe(requestID: 1)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)])
        for _ in 0..<10 { _ = sm.entryReceived(messages: 1, bytes: 300) }
        XCTAssertEqual(sm.consumed(5, bytes: 1500), .none, "1,500 bytes still queued")
        XCTAssertEqual(sm.consumed(3, bytes: 900), .none, "600 bytes queued, more than half")
        XCTAssertEqual(sm.consumed(2, bytes: 600), .sendFlow(permits: 10), "drained: every permit held back goes at once")
    }

    func testEntryCountingNeverStallsOnAnEmptyQueue() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded(permitsPerEntry: true)
        XCTAssertEqual(sm.entryReceived(messages: 50), .none, "one entry larger than the queue")
        XCTAssertEqual(sm.consumed(50), .sendFlow(permits: 1), "empty and nothing outstanding: one more entry")
    }

    /// pulsar-lite's entry dispatcher can miss a FLOW (a lost wake-up): a consumer waiting for
    /// entries it granted, with none arriving between two checks, nudges it with FLOW(0).
    func testAnEntryConsumerWaitingInVainNudgesTheBrokerWithoutGrantingMore() {
        var sm = ConsumerStateMachine(receiverQueueSize: 1000)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded(permitsPerEntry: true)
        XCTAssertEqual(sm.entryReceived(messages: 100), .sendFlow(permits: 9))
        XCTAssertEqual(sm.idleCheck(), .none, "the first check only notes where it stands")
        XCTAssertEqual(sm.idleCheck(), .sendFlow(permits: 0), "9 entries granted, none arrived since the last check")
        XCTAssertEqual(sm.entryReceived(messages: 100), .none)
        XCTAssertEqual(sm.idleCheck(), .none, "an entry arrived since the last check")
        for _ in 0..<8 { _ = sm.entryReceived(messages: 100) }
        XCTAssertEqual(sm.idleCheck(), .none)
        XCTAssertEqual(sm.idleCheck(), .none, "nothing granted is outstanding: the queue is full, the application is behind")
        // A broker that counts permits per message never gets one.
        var messages = ConsumerStateMachine(receiverQueueSize: 10)
        _ = messages.subscribe(requestID: 1)
        _ = messages.subscribeSucceeded()
        XCTAssertEqual(messages.idleCheck(), .none)
        XCTAssertEqual(messages.idleCheck(), .none)
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
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)])
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

    // MARK: SEEK and REDELIVER on restore

    private let restored = Position(ledger: 2, entry: 5, batchIndex: 1)

    func testRestoreSeeksToTheRestoredEntryBeforeGrantingPermits() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, startAfter: restored)
        XCTAssertEqual(sm.subscribe(requestID: 1), .sendSubscribe(requestID: 1))
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendSeek(MessageID(ledger: 2, entry: 5))], "no permits before the SEEK is answered")
        XCTAssertEqual(sm.state, .seeking)
        XCTAssertEqual(sm.consumed(5), .none)
        XCTAssertEqual(sm.seekSucceeded(), [.sendFlow(permits: 10)])
        XCTAssertEqual(sm.seekSupport, .supported)
        // SEEK is inclusive: the restored entry comes again; its covered messages are dropped.
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 5, batchIndex: 1), completesEntry: false), .skip)
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 5, batchIndex: 2), completesEntry: true), .deliver)
        // A later reconnect subscribes without seeking again.
        _ = sm.connectionLost()
        _ = sm.subscribe(requestID: 2)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)])
    }

    func testBrokerRefusingSeekFallsBackToSkippingAndAcknowledging() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, startAfter: restored)
        _ = sm.subscribe(requestID: 1)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendSeek(MessageID(ledger: 2, entry: 5))])
        XCTAssertEqual(sm.seekFailed(.server(code: "notAllowedError", message: "seek is not supported")), [.sendFlow(permits: 10)])
        XCTAssertEqual(sm.state, .active)
        XCTAssertEqual(sm.seekSupport, .unsupported)
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 4, partition: 0), completesEntry: true),
                       .skipAndAcknowledge(MessageID(ledger: 2, entry: 4, partition: 0)))
        XCTAssertEqual(sm.received(MessageID(ledger: 2, entry: 5, batchIndex: 2), completesEntry: true), .deliver)
    }

    func testBrokerDroppingTheConnectionOverSeekIsNotAskedAgain() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, startAfter: restored)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        XCTAssertEqual(sm.seekFailed(.connectionClosed("the broker closed the connection")), [])
        guard case .scheduleReconnect(_, 1) = sm.connectionLost() else { return XCTFail("a lost connection while seeking reconnects") }
        _ = sm.subscribe(requestID: 2)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)], "no second SEEK")
    }

    func testSeekSwitchedOffSkipsOnly() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, startAfter: restored, seek: .unsupported)
        _ = sm.subscribe(requestID: 1)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)])
    }

    func testSharedRestoreAsksForRedeliveryOnce() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, startAfter: restored, shared: true)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        XCTAssertEqual(sm.seekSucceeded(), [.sendRedeliverUnacknowledged, .sendFlow(permits: 10)])
        _ = sm.connectionLost()
        _ = sm.subscribe(requestID: 2)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)])
    }

    func testNoRedeliveryWithoutRestoreOrForExclusive() {
        var fresh = ConsumerStateMachine(receiverQueueSize: 10, shared: true)
        _ = fresh.subscribe(requestID: 1)
        XCTAssertEqual(fresh.subscribeSucceeded(), [.sendFlow(permits: 10)])
        var exclusive = ConsumerStateMachine(receiverQueueSize: 10, startAfter: restored, seek: .unsupported)
        _ = exclusive.subscribe(requestID: 1)
        XCTAssertEqual(exclusive.subscribeSucceeded(), [.sendFlow(permits: 10)])
    }

    // MARK: Acknowledgements across reconnects

    private func id(_ entry: UInt64) -> MessageID { MessageID(ledger: 7, entry: entry, partition: 1) }

    func testUnansweredIndividualAcksAreResentAfterAReconnect() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, shared: true)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        XCTAssertEqual(sm.acknowledge([id(1), id(2)], cumulative: false), .sendAck(.init(token: 1, ids: [id(1), id(2)], cumulative: false)))
        XCTAssertEqual(sm.acknowledge([id(3)], cumulative: false), .sendAck(.init(token: 2, ids: [id(3)], cumulative: false)))
        sm.ackAnswered(token: 2, error: nil)                       // the broker has 3
        sm.ackAnswered(token: 1, error: .connectionClosed("gone"))  // 1 and 2 may be lost
        _ = sm.connectionLost()
        XCTAssertEqual(sm.acknowledge([id(4)], cumulative: false), .none, "queued while disconnected")
        _ = sm.subscribe(requestID: 2)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendAck(.init(token: 3, ids: [id(1), id(2), id(4)], cumulative: false)), .sendFlow(permits: 10)])
        sm.ackAnswered(token: 3, error: nil)
        XCTAssertTrue(sm.unconfirmedAcks.isEmpty)
        _ = sm.connectionLost()
        _ = sm.subscribe(requestID: 3)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendFlow(permits: 10)], "confirmed acks are not sent again")
    }

    func testAcksWrittenJustBeforeTheDropAreResentEvenWithoutAnAnswer() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, shared: true)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        _ = sm.acknowledge([id(8)], cumulative: false)  // written; the connection breaks before any answer
        _ = sm.connectionLost()
        _ = sm.subscribe(requestID: 2)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendAck(.init(token: 2, ids: [id(8)], cumulative: false)), .sendFlow(permits: 10)])
    }

    func testAckRefusedByTheBrokerIsDroppedAndTimedOutOneKept() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, shared: true)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        _ = sm.acknowledge([id(1)], cumulative: false)
        _ = sm.acknowledge([id(2)], cumulative: false)
        sm.ackAnswered(token: 1, error: .server(code: "unknownError", message: "no"))
        sm.ackAnswered(token: 2, error: .timeout("no answer"))
        XCTAssertEqual(sm.unconfirmedAcks.keys.sorted(), [2])
    }

    func testUnansweredCumulativeAcksAreResentAsTheLatestOnly() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        XCTAssertEqual(sm.acknowledge([id(3)], cumulative: true), .sendAck(.init(token: 1, ids: [id(3)], cumulative: true)))
        _ = sm.acknowledge([id(5)], cumulative: true)
        _ = sm.connectionLost()
        XCTAssertEqual(sm.acknowledge([id(4)], cumulative: true), .none)
        _ = sm.subscribe(requestID: 2)
        XCTAssertEqual(sm.subscribeSucceeded(), [.sendAck(.init(token: 3, ids: [id(5)], cumulative: true)), .sendFlow(permits: 10)])
    }

    func testUnansweredAcksAreBounded() {
        var sm = ConsumerStateMachine(receiverQueueSize: 10, shared: true)
        _ = sm.subscribe(requestID: 1)
        _ = sm.subscribeSucceeded()
        let chunk = (0..<UInt64(10_000)).map(id)
        for _ in 0..<12 { _ = sm.acknowledge(chunk, cumulative: false) }
        XCTAssertLessThanOrEqual(sm.unconfirmedAcks.values.reduce(0) { $0 + $1.ids.count }, ConsumerStateMachine.maxUnconfirmedAcks)
        XCTAssertNil(sm.unconfirmedAcks[1], "the oldest go first")
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
        XCTAssertFalse(url.usesTLS)
        let tls = try ServiceURL("pulsar+ssl://broker.example.com:6651/")
        XCTAssertTrue(tls.usesTLS)
        XCTAssertEqual(tls.host, "broker.example.com")
        XCTAssertEqual(tls.description, "pulsar+ssl://broker.example.com:6651")
        XCTAssertNotEqual(try ServiceURL("pulsar://h:1"), try ServiceURL("pulsar+ssl://h:1"), "never the same connection")
        for bad in ["pulsar+tls://x:1", "https://x:1", "http://x:1", "pulsar://x", "pulsar://x:0", "pulsar://:1", "pulsar://x:y"] {
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
