package io.ds4j.common.protocol;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.peer.FetchCodec;
import io.ds4j.common.protocol.peer.KeyMetaCodec;
import io.ds4j.common.protocol.peer.OwnerFetchCodec;
import io.ds4j.common.protocol.peer.PeerMessageType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OWNER_FETCH (peer/OwnerFetchCodec, docs/protocol.md 13.9): round trips, the exact bytes, and what a bad reply gets. */
class OwnerFetchCodecTest
{
    private static final KeyMeta META = new KeyMeta(1_700_000_000_000_123L, 100, WriteMode.NONE_L2_CACHE,
        ConsistencyType.CAUSAL, 0, "127.0.0.1:31501");

    private static BodyReader reply(final Consumer<BodyWriter> body)
    {
        final BodyWriter out = new BodyWriter(256).beginResponse(PeerMessageType.OWNER_FETCH, 7, StatusCodec.OK);
        body.accept(out);
        final BodyReader in = Frames.read(out);
        StatusCodec.readStatus(in);
        return in;
    }

    private static byte[] body(final Consumer<BodyWriter> body)
    {
        final BodyWriter out = new BodyWriter(256).begin(PeerMessageType.OWNER_FETCH, (short) 0, 7);
        body.accept(out);
        final ByteBuffer frame = out.finish().frame();
        final byte[] bytes = new byte[frame.limit() - FrameHeader.HEADER_LENGTH];
        frame.get(FrameHeader.HEADER_LENGTH, bytes);
        return bytes;
    }

    @Test
    void theRequestRoundTripsAndIsTheTimeoutThenTheKey()
    {
        final BodyWriter out = new BodyWriter(256).begin(PeerMessageType.OWNER_FETCH, (short) 0, 7);
        OwnerFetchCodec.writeRequest(out, "k1", 250);
        final BodyReader in = Frames.read(out);
        assertEquals(250, OwnerFetchCodec.peekSubTimeoutMs(in));
        assertEquals(new OwnerFetchCodec.Request("k1", 250), OwnerFetchCodec.readRequest(in));
        assertArrayEquals(body(w -> w.putLong(250).putString("k1")),
            body(w -> OwnerFetchCodec.writeRequest(w, "k1", 250)));
    }

    @Test
    void anAbsentKeyIsOneFalseByte()
    {
        final OwnerFetchCodec.Reply answer = OwnerFetchCodec.readReply(reply(OwnerFetchCodec::writeAbsent), 1000);
        assertNull(answer.meta());
        assertFalse(answer.bulk().found());
        assertArrayEquals(body(w -> w.putBoolean(false)), body(OwnerFetchCodec::writeAbsent));
    }

    @Test
    void metadataAloneIsPresentThenTheMetadataThenANotFoundFetchReply()
    {
        final OwnerFetchCodec.Reply answer = OwnerFetchCodec.readReply(
            reply(w -> OwnerFetchCodec.writeMeta(w, META)), 1000);
        assertEquals(META, answer.meta());
        assertFalse(answer.bulk().found());
        assertArrayEquals(body(w ->
        {
            w.putBoolean(true);
            KeyMetaCodec.write(w, META);
            FetchCodec.writeMissing(w);
        }), body(w -> OwnerFetchCodec.writeMeta(w, META)));
    }

    @Test
    void foundBytesCarryTheMetadataAndTheHeaderOfTheBytesThatFollow()
    {
        final long newer = META.version() + 5;
        final OwnerFetchCodec.Reply answer = OwnerFetchCodec.readReply(
            reply(w -> OwnerFetchCodec.writeFound(w, META, newer, true, true, 100, false)), 1000);
        assertEquals(META, answer.meta());
        assertTrue(answer.bulk().found());
        assertEquals(new FetchCodec.Reply(true, newer, true, true, 100, false), answer.bulk());
        assertArrayEquals(body(w ->
        {
            w.putBoolean(true);
            KeyMetaCodec.write(w, META);
            FetchCodec.writeFound(w, newer, true, true, 100, false);
        }), body(w -> OwnerFetchCodec.writeFound(w, META, newer, true, true, 100, false)));
    }

    @Test
    void aCopiedValueSaysSoInItsFlagsAndOnlyThere()
    {
        final OwnerFetchCodec.Reply answer = OwnerFetchCodec.readReply(
            reply(w -> OwnerFetchCodec.writeFound(w, META, META.version(), false, true, 100, true)), 1000);
        assertEquals(new FetchCodec.Reply(true, META.version(), false, true, 100, true), answer.bulk());
        assertArrayEquals(body(w ->
        {
            w.putBoolean(true);
            KeyMetaCodec.write(w, META);
            w.putBoolean(true).putLong(META.version()).putByte(FetchCodec.FLAG_SEALED | FetchCodec.FLAG_COPIED)
                .putLong(100);
        }), body(w -> OwnerFetchCodec.writeFound(w, META, META.version(), false, true, 100, true)));
    }

    @Test
    void aValueLargerThanTheReceiversPoolIsRefused()
    {
        final BodyReader in = reply(w -> OwnerFetchCodec.writeFound(w, META, META.version(), false, false, 1001, false));
        assertThrows(ProtocolException.class, () -> OwnerFetchCodec.readReply(in, 1000));
    }

    @Test
    void aTruncatedReplyIsRefused()
    {
        final BodyReader in = reply(w -> w.putBoolean(true).putLong(1));
        assertThrows(RuntimeException.class, () -> OwnerFetchCodec.readReply(in, 1000));
    }

    @Test
    void theNewTypeIsAPeerTypeWithItsName()
    {
        assertTrue(PeerMessageType.isPeerType(PeerMessageType.OWNER_FETCH));
        assertEquals("OWNER_FETCH", PeerMessageType.name(PeerMessageType.OWNER_FETCH));
    }
}
