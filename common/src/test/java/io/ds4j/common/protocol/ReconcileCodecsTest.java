package io.ds4j.common.protocol;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.WriteMode;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.peer.MigrateDataCodec;
import io.ds4j.common.protocol.peer.OwnerAdoptCodec;
import io.ds4j.common.protocol.peer.PeerMessageType;
import io.ds4j.common.protocol.peer.ReconciledCodec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.ds4j.common.protocol.Frames.raw;
import static io.ds4j.common.protocol.Frames.read;
import static io.ds4j.common.protocol.Frames.readReply;
import static io.ds4j.common.protocol.Frames.reply;
import static io.ds4j.common.protocol.Frames.request;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** OWNER_ADOPT, RECONCILED and MIGRATE_DATA (docs/protocol.md 13.8, 13.9): round trips and what a bad body gets. */
class ReconcileCodecsTest
{
    @Test
    void adoptRoundTripsEveryKindOfHandover()
    {
        final List<KeyHandover> handovers = List.of(
            new KeyHandover("primary", new KeyMeta(7, 100, WriteMode.WRITE_THROUGH_L2_CACHE, ConsistencyType.PRAM,
                123, "10.0.0.1:1"), List.of("10.0.0.2:1"), Map.of("client", 2L), 0),
            KeyHandover.ofCopy("replica", new KeyMeta(8, 5, WriteMode.NONE_L2_CACHE, ConsistencyType.CAUSAL, 0,
                "10.0.0.3:1"), "10.0.0.4:1", true),
            new KeyHandover("deleted", null, List.of(), Map.of(), 9));
        final BodyWriter out = request(PeerMessageType.OWNER_ADOPT);
        OwnerAdoptCodec.writeRequest(out, handovers);
        assertEquals(handovers, OwnerAdoptCodec.readRequest(read(out)));

        final BodyWriter answer = reply(PeerMessageType.OWNER_ADOPT);
        OwnerAdoptCodec.writeReply(answer, new boolean[] {false, true, false});
        assertArrayEquals(new boolean[] {false, true, false}, OwnerAdoptCodec.readReply(readReply(answer), 3));
    }

    @Test
    void aHandoverWithNothingInItOrABadCountIsRefused()
    {
        assertThrows(ProtocolException.class, () -> OwnerAdoptCodec.readRequest(raw(PeerMessageType.OWNER_ADOPT,
            out -> out.putInt(1).putString("k").putLong(0).putBoolean(false).putInt(0).putInt(0))));
        assertThrows(ProtocolException.class, () -> OwnerAdoptCodec.readRequest(raw(PeerMessageType.OWNER_ADOPT,
            out -> out.putInt(1).putString("k").putLong(0).putBoolean(false).putInt(0).putInt(1)
                .putString("client").putLong(-1))));
        assertThrows(ProtocolException.class, () -> OwnerAdoptCodec.readRequest(raw(PeerMessageType.OWNER_ADOPT,
            out -> out.putInt(OwnerAdoptCodec.MAX_KEYS + 1))));
        final BodyWriter answer = reply(PeerMessageType.OWNER_ADOPT);
        OwnerAdoptCodec.writeReply(answer, new boolean[] {true});
        assertThrows(ProtocolException.class, () -> OwnerAdoptCodec.readReply(readReply(answer), 2));
    }

    @Test
    void reconciledRoundTrips()
    {
        final BodyWriter out = request(PeerMessageType.RECONCILED);
        ReconciledCodec.writeRequest(out, "10.0.0.1:1", 0x1234_5678_9abcL, 1_700_000_000_000L);
        assertEquals(new ReconciledCodec.Request("10.0.0.1:1", 0x1234_5678_9abcL, 1_700_000_000_000L),
            ReconciledCodec.readRequest(read(out)));
    }

    @Test
    void migrateDataRoundTripsAndRefusesAnEmptyOrOversizedBatch()
    {
        final BodyWriter out = request(PeerMessageType.MIGRATE_DATA);
        MigrateDataCodec.writeRequest(out, "10.0.0.1:1", List.of("a", "b"), new long[] {7, 8});
        final MigrateDataCodec.Request request = MigrateDataCodec.readRequest(read(out));
        assertEquals("10.0.0.1:1", request.sender());
        assertEquals(List.of("a", "b"), request.keys());
        assertArrayEquals(new long[] {7, 8}, request.versions());

        final BodyWriter answer = reply(PeerMessageType.MIGRATE_DATA);
        MigrateDataCodec.writeReply(answer, new StatusCode[] {StatusCode.OK, StatusCode.OUT_OF_MEMORY});
        assertArrayEquals(new StatusCode[] {StatusCode.OK, StatusCode.OUT_OF_MEMORY},
            MigrateDataCodec.readReply(readReply(answer), 2));

        assertThrows(ProtocolException.class, () -> MigrateDataCodec.readRequest(raw(PeerMessageType.MIGRATE_DATA,
            o -> o.putString("10.0.0.1:1").putInt(0))));
        assertThrows(ProtocolException.class, () -> MigrateDataCodec.readRequest(raw(PeerMessageType.MIGRATE_DATA,
            o -> o.putString("10.0.0.1:1").putInt(MigrateDataCodec.MAX_KEYS + 1))));
        assertThrows(IllegalArgumentException.class, () -> MigrateDataCodec.writeRequest(request(
            PeerMessageType.MIGRATE_DATA), "x", List.of(), new long[0]));
    }
}
