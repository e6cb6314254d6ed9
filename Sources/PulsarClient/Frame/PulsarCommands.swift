import struct Foundation.Data

/// Every command the client sends is built here, so the wire format of each is in one place
/// and can be read against the Pulsar binary protocol spec. Callers choose the values (request
/// ids, names, options); the builders only set fields. In proto2 setting a field makes it
/// present, so a builder sets only the fields the command needs.
///
/// Pure functions; any thread.
enum PulsarCommands {
    /// The protocol version the client speaks, sent with CONNECT and AUTH_RESPONSE.
    private static let protocolVersion: Int32 = 21

    // MARK: - Connection

    /// Opens a connection with the authentication method and its data, when there is one.
    /// The client says it can answer AUTH_CHALLENGE (renewed OAuth2 tokens).
    static func connect(clientVersion: String, authMethod: String?, authData: String) -> Pulsar_Proto_BaseCommand {
        var connect = Pulsar_Proto_CommandConnect()
        connect.clientVersion = clientVersion
        connect.protocolVersion = protocolVersion
        connect.featureFlags.supportsAuthRefresh = true
        if let authMethod {
            connect.authMethodName = authMethod
            connect.authData = Data(authData.utf8)
        }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .connect
        command.connect = connect
        return command
    }

    /// Answers the broker's AUTH_CHALLENGE with the current credentials.
    static func authResponse(clientVersion: String, authMethod: String, authData: String) -> Pulsar_Proto_BaseCommand {
        var response = Pulsar_Proto_CommandAuthResponse()
        response.clientVersion = clientVersion
        response.protocolVersion = protocolVersion
        var data = Pulsar_Proto_AuthData()
        data.authMethodName = authMethod
        data.authData = Data(authData.utf8)
        response.response = data
        var command = Pulsar_Proto_BaseCommand()
        command.type = .authResponse
        command.authResponse = response
        return command
    }

    /// Answers the broker's PING, so it keeps the connection.
    static func pong() -> Pulsar_Proto_BaseCommand {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .pong
        command.pong = Pulsar_Proto_CommandPong()
        return command
    }

    /// Keep-alive: the broker answers with PONG, which shows the connection still works.
    static func ping() -> Pulsar_Proto_BaseCommand {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .ping
        command.ping = Pulsar_Proto_CommandPing()
        return command
    }

    // MARK: - Lookups

    /// Asks which broker serves `topic`; `authoritative` passes on what a redirect said.
    static func lookup(topic: String, requestID: UInt64, authoritative: Bool) -> Pulsar_Proto_BaseCommand {
        var lookup = Pulsar_Proto_CommandLookupTopic()
        lookup.topic = topic
        lookup.requestID = requestID
        lookup.authoritative = authoritative
        var command = Pulsar_Proto_BaseCommand()
        command.type = .lookup
        command.lookupTopic = lookup
        return command
    }

    /// Asks how many partitions `topic` has (0 for a non-partitioned topic).
    static func partitionedMetadata(topic: String, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var metadata = Pulsar_Proto_CommandPartitionedTopicMetadata()
        metadata.topic = topic
        metadata.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .partitionedMetadata
        command.partitionMetadata = metadata
        return command
    }

    // MARK: - Producer

    /// Creates a producer on `topic`; without a name the broker picks one.
    static func producer(topic: String, producerID: UInt64, requestID: UInt64, producerName: String?) -> Pulsar_Proto_BaseCommand {
        var producer = Pulsar_Proto_CommandProducer()
        producer.topic = topic
        producer.producerID = producerID
        producer.requestID = requestID
        if let producerName { producer.producerName = producerName }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .producer
        command.producer = producer
        return command
    }

    /// Publishes one entry of `messageCount` messages (more than one is a batch, which also
    /// carries its highest sequence id); the metadata and payload go in the frame beside it.
    static func send(producerID: UInt64, sequenceID: UInt64, messageCount: Int) -> Pulsar_Proto_BaseCommand {
        var send = Pulsar_Proto_CommandSend()
        send.producerID = producerID
        send.sequenceID = sequenceID
        send.numMessages = Int32(messageCount)
        if messageCount > 1 { send.highestSequenceID = sequenceID + UInt64(messageCount) - 1 }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .send
        command.send = send
        return command
    }

    /// Closes a producer; the broker answers once it has dropped it.
    static func closeProducer(producerID: UInt64, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var close = Pulsar_Proto_CommandCloseProducer()
        close.producerID = producerID
        close.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .closeProducer
        command.closeProducer = close
        return command
    }

    // MARK: - Consumer

    /// Subscribes a consumer to `topic`: always durable, so the broker keeps the position;
    /// Key_Shared splits the key space automatically between its consumers.
    static func subscribe(topic: String, subscription: String, subscriptionType: SubscriptionType,
                          consumerID: UInt64, requestID: UInt64, consumerName: String?,
                          initialPosition: InitialPosition) -> Pulsar_Proto_BaseCommand {
        var subscribe = Pulsar_Proto_CommandSubscribe()
        subscribe.topic = topic
        subscribe.subscription = subscription
        subscribe.subType = subscriptionType.protocolValue
        subscribe.consumerID = consumerID
        subscribe.requestID = requestID
        if let consumerName { subscribe.consumerName = consumerName }
        subscribe.durable = true
        subscribe.initialPosition = initialPosition == .earliest ? .earliest : .latest
        if subscriptionType == .keyShared {
            var meta = Pulsar_Proto_KeySharedMeta()
            meta.keySharedMode = .autoSplit
            subscribe.keySharedMeta = meta
        }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .subscribe
        command.subscribe = subscribe
        return command
    }

    /// Moves a subscription to `messageID`; `partition` (when >= 0) replaces the id's own.
    static func seek(consumerID: UInt64, requestID: UInt64, messageID: MessageID, partition: Int32) -> Pulsar_Proto_BaseCommand {
        var seek = Pulsar_Proto_CommandSeek()
        seek.consumerID = consumerID
        seek.requestID = requestID
        var data = messageID.protocolData
        if partition >= 0 { data.partition = partition }
        seek.messageID = data
        var command = Pulsar_Proto_BaseCommand()
        command.type = .seek
        command.seek = seek
        return command
    }

    /// Asks for the id of the last message stored on the consumer's topic partition.
    static func getLastMessageID(consumerID: UInt64, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var get = Pulsar_Proto_CommandGetLastMessageId()
        get.consumerID = consumerID
        get.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .getLastMessageID
        command.getLastMessageID = get
        return command
    }

    /// Lets the broker push `permits` more messages (or entries, see `ConsumerStateMachine`).
    static func flow(consumerID: UInt64, permits: UInt32) -> Pulsar_Proto_BaseCommand {
        var flow = Pulsar_Proto_CommandFlow()
        flow.consumerID = consumerID
        flow.messagePermits = permits
        var command = Pulsar_Proto_BaseCommand()
        command.type = .flow
        command.flow = flow
        return command
    }

    /// Acknowledges entries, by ledger and entry only (no batch index); the request id makes
    /// the broker answer with ACK_RESPONSE, so an unanswered ack can be sent again.
    static func ack(consumerID: UInt64, cumulative: Bool, requestID: UInt64, messageIDs: [MessageID], partition: Int32) -> Pulsar_Proto_BaseCommand {
        var ack = Pulsar_Proto_CommandAck()
        ack.consumerID = consumerID
        ack.ackType = cumulative ? .cumulative : .individual
        ack.requestID = requestID
        ack.messageID = messageIDs.map { id in
            var data = Pulsar_Proto_MessageIdData()
            data.ledgerID = id.ledger
            data.entryID = id.entry
            if partition >= 0 { data.partition = partition }
            return data
        }
        var command = Pulsar_Proto_BaseCommand()
        command.type = .ack
        command.ack = ack
        return command
    }

    /// Asks the broker to send again every message this consumer has not acknowledged.
    static func redeliverUnacknowledgedMessages(consumerID: UInt64) -> Pulsar_Proto_BaseCommand {
        var redeliver = Pulsar_Proto_CommandRedeliverUnacknowledgedMessages()
        redeliver.consumerID = consumerID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .redeliverUnacknowledgedMessages
        command.redeliverUnacknowledgedMessages = redeliver
        return command
    }

    /// Closes a consumer; the broker answers once it has dropped it.
    static func closeConsumer(consumerID: UInt64, requestID: UInt64) -> Pulsar_Proto_BaseCommand {
        var close = Pulsar_Proto_CommandCloseConsumer()
        close.consumerID = consumerID
        close.requestID = requestID
        var command = Pulsar_Proto_BaseCommand()
        command.type = .closeConsumer
        command.closeConsumer = close
        return command
    }
}
