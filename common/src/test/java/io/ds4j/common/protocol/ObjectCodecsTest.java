package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.shm.ObjectHeader;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

import static io.ds4j.common.protocol.Frames.assertSameBody;
import static io.ds4j.common.protocol.Frames.bytes;
import static io.ds4j.common.protocol.Frames.raw;
import static io.ds4j.common.protocol.Frames.read;
import static io.ds4j.common.protocol.Frames.readReply;
import static io.ds4j.common.protocol.Frames.reply;
import static io.ds4j.common.protocol.Frames.request;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The object codecs (docs/protocol.md 5.13 to 5.21): round trips, the exact bytes, and what a bad body gets. */
class ObjectCodecsTest
{
    /** A worker without a disk tier: DISK is refused as soon as the cache type is read. */
    private static final Function<CacheType, CacheType> MEMORY_ONLY = cacheType ->
    {
        if (cacheType == CacheType.DISK)
        {
            throw new DsException(StatusCode.NOT_SUPPORTED, "no disk here");
        }
        return cacheType;
    };

    private static DsException assertCode(final StatusCode code, final Runnable decode)
    {
        final DsException e = assertThrows(DsException.class, decode::run);
        assertEquals(code, e.code());
        return e;
    }

    @Test
    void objCreateRoundTripsRequestAndReply()
    {
        final BodyWriter out = request(MessageType.OBJ_CREATE);
        ObjCreateCodec.writeRequest(out, ConsistencyType.CAUSAL, CacheType.MEMORY, "obj", 4096);
        final ObjCreateCodec.Request<CacheType> create = new ObjCreateCodec.Request<>();
        create.read(read(out), MEMORY_ONLY);
        assertSame(ConsistencyType.CAUSAL, create.consistency());
        assertSame(CacheType.MEMORY, create.params());
        assertEquals("obj", create.key());
        assertEquals(4096, create.size());
        assertSameBody(w -> w.putByte(1).putByte(0).putString("obj").putLong(8),
            w -> ObjCreateCodec.writeRequest(w, ConsistencyType.CAUSAL, CacheType.MEMORY, "obj", 8));

        final BodyWriter answer = reply(MessageType.OBJ_CREATE);
        ObjCreateCodec.writeReply(answer, 31, 0, 8256);
        final CreatedRegion region = new CreatedRegion();
        ObjCreateCodec.readReply(readReply(answer), region);
        assertTrue(region.ok());
        assertEquals(31, region.allocationId());
        assertEquals(0, region.segmentIndex());
        assertEquals(8256, region.dataOffset());
        assertSameBody(w -> w.putLong(31).putInt(0).putLong(8256), w -> ObjCreateCodec.writeReply(w, 31, 0, 8256));
    }

    @Test
    void objectParametersAreCheckedAsSoonAsTheyAreRead()
    {
        final ObjCreateCodec.Request<CacheType> create = new ObjCreateCodec.Request<>();
        assertEquals("unknown consistency type 5, expected 0 (PRAM) or 1 (CAUSAL)", assertCode(StatusCode.INVALID,
            () -> create.read(raw(MessageType.OBJ_CREATE, w -> w.putByte(5)), MEMORY_ONLY)).detail());
        assertCode(StatusCode.INVALID,
            () -> create.read(raw(MessageType.OBJ_CREATE, w -> w.putByte(0).putByte(9)), MEMORY_ONLY));
        // DISK is refused before the (missing) key is read
        assertCode(StatusCode.NOT_SUPPORTED,
            () -> create.read(raw(MessageType.OBJ_CREATE, w -> w.putByte(0).putByte(1)), MEMORY_ONLY));
        assertThrows(ProtocolException.class,
            () -> create.read(raw(MessageType.OBJ_CREATE, w -> w.putByte(0).putByte(0).putString("k")), MEMORY_ONLY));
        final ObjPutCodec.Request<CacheType> put = new ObjPutCodec.Request<>();
        assertCode(StatusCode.NOT_SUPPORTED,
            () -> put.read(raw(MessageType.OBJ_PUT, w -> w.putByte(0).putByte(1)), MEMORY_ONLY));
    }

    @Test
    void objPublishRoundTripsFlagsAndNestedKeys()
    {
        final BodyWriter out = request(MessageType.OBJ_PUBLISH);
        ObjPublishCodec.writeRequest(out, "parent", 12, true, true, List.of("c1", "c2"));
        final ObjPublishCodec.Request publish = new ObjPublishCodec.Request();
        publish.read(read(out));
        assertEquals("parent", publish.key());
        assertEquals(12, publish.allocationId());
        assertTrue(publish.seal());
        assertTrue(publish.dropView());
        assertEquals(List.of("c1", "c2"), publish.nested());

        final BodyWriter plain = request(MessageType.OBJ_PUBLISH);
        ObjPublishCodec.writeRequest(plain, "p", 1, false, false, List.of());
        publish.read(read(plain));
        assertFalse(publish.seal());
        assertFalse(publish.dropView());
        assertSame(List.of(), publish.nested());

        assertSameBody(w -> w.putString("p").putLong(3).putByte(2).putInt(1).putString("c"),
            w -> ObjPublishCodec.writeRequest(w, "p", 3, false, true, List.of("c")));
        assertSameBody(w -> w.putString("p").putLong(3).putByte(1).putInt(0),
            w -> ObjPublishCodec.writeRequest(w, "p", 3, true, false, List.of()));
        final BodyWriter answer = reply(MessageType.OBJ_PUBLISH);
        ObjPublishCodec.writeReply(answer, 1_234_567);
        assertEquals(1_234_567, ObjPublishCodec.readReply(readReply(answer)));
    }

    @Test
    void nestedKeysAreBoundedBeforeTheyAreRead()
    {
        final ObjPublishCodec.Request publish = new ObjPublishCodec.Request();
        final DsException e = assertCode(StatusCode.INVALID, () -> publish.read(raw(MessageType.OBJ_PUBLISH, w ->
        {
            w.putString("p").putLong(1).putByte(0).putInt(10_001);
            for (int i = 0; i < 10_001; i++)
            {
                w.putString("n" + i);
            }
        })));
        assertEquals("an object may name at most 10000 nested keys per publish, not 10001", e.detail());
        assertThrows(ProtocolException.class, () -> publish.read(raw(MessageType.OBJ_PUBLISH,
            w -> w.putString("p").putLong(1).putByte(0).putInt(-1))));
        assertThrows(ProtocolException.class, () -> publish.read(raw(MessageType.OBJ_PUBLISH,
            w -> w.putString("p").putLong(1).putByte(0).putInt(3).putString("a"))));
    }

    @Test
    void objPutRoundTripsEveryField()
    {
        final BodyWriter out = request(MessageType.OBJ_PUT);
        ObjPutCodec.writeRequest(out, ConsistencyType.PRAM, CacheType.MEMORY, true, 99, "obj", List.of("child"),
            MemorySegment.ofArray(new byte[] {4, 5}));
        final ObjPutCodec.Request<CacheType> put = new ObjPutCodec.Request<>();
        final BodyReader in = read(out);
        put.read(in, MEMORY_ONLY);
        assertSame(ConsistencyType.PRAM, put.consistency());
        assertSame(CacheType.MEMORY, put.params());
        assertTrue(put.seal());
        assertEquals(99, put.expectVersion());
        assertEquals("obj", put.key());
        assertEquals(List.of("child"), put.nested());
        assertArrayEquals(new byte[] {4, 5}, bytes(put.value()));
        assertEquals(0, in.remaining());
        assertSameBody(w -> w.putByte(1).putByte(0).putByte(0).putLong(0).putString("o").putInt(0)
            .putBytes(new byte[] {1}), w -> ObjPutCodec.writeRequest(w, ConsistencyType.CAUSAL, CacheType.MEMORY,
                false, 0, "o", List.of(), MemorySegment.ofArray(new byte[] {1})));
        // the SDK's frame estimate: value + key list + key + 32
        assertEquals(10 + (4 + 4 + 2) + 3 + 32, ObjPutCodec.requestBytes("obj", List.of("ab"), 10));
        final BodyWriter answer = reply(MessageType.OBJ_PUT);
        ObjPutCodec.writeReply(answer, 5);
        assertEquals(5, ObjPutCodec.readReply(readReply(answer)));
    }

    @Test
    void objPutRefusesANullValue()
    {
        final ObjPutCodec.Request<CacheType> put = new ObjPutCodec.Request<>();
        assertThrows(ProtocolException.class, () -> put.read(raw(MessageType.OBJ_PUT,
            w -> w.putByte(0).putByte(0).putByte(0).putLong(0).putString("o").putInt(0).putInt(-1)), MEMORY_ONLY));
    }

    @Test
    void objGetRoundTripsRequestAndEveryKindOfEntry()
    {
        final BodyWriter out = request(MessageType.OBJ_GET);
        ObjGetCodec.writeRequest(out, 100, List.of("a", "b", "c"));
        final ObjGetCodec.Request get = new ObjGetCodec.Request();
        get.read(read(out));
        assertEquals(100, get.subTimeoutMs());
        assertEquals(List.of("a", "b", "c"), get.keys());
        assertSameBody(w -> w.putLong(0).putInt(1).putString("a"), w -> ObjGetCodec.writeRequest(w, 0,
            List.of("a")));

        final BodyWriter answer = reply(MessageType.OBJ_GET);
        ObjGetCodec.writeEntryCount(answer, 3);
        ObjGetCodec.writeMissing(answer);
        final int before = answer.length();
        ObjGetCodec.writeInline(answer, 41, true, MemorySegment.ofArray(new byte[] {8, 9}));
        assertEquals(ObjGetCodec.INLINE_ENTRY_OVERHEAD + 2, answer.length() - before);
        ObjGetCodec.writeView(answer, 42, false, 3, 0, 4160, 1 << 20);
        final BodyReader in = readReply(answer);
        final ValueEntry entry = new ValueEntry();
        assertEquals(3, ObjGetCodec.readEntryCount(in, 3));
        assertSame(ValueKind.MISSING, ObjGetCodec.readEntry(in, entry));
        assertSame(ValueKind.INLINE, ObjGetCodec.readEntry(in, entry));
        assertEquals(41, entry.version());
        assertTrue(entry.sealed());
        assertArrayEquals(new byte[] {8, 9}, bytes(ObjGetCodec.readInlineInPlace(in)));
        assertSame(ValueKind.POOL_VIEW, ObjGetCodec.readEntry(in, entry));
        assertEquals(42, entry.version());
        assertFalse(entry.sealed());
        assertEquals(3, entry.allocationId());
        assertEquals(4160, entry.dataOffset());
        assertEquals(1 << 20, entry.dataSize());
        assertEquals(0, in.remaining());
        assertSameBody(w -> w.putByte(2).putLong(42).putByte(1).putLong(3).putInt(0).putLong(4160).putLong(10),
            w -> ObjGetCodec.writeView(w, 42, true, 3, 0, 4160, 10));
        assertSameBody(w -> w.putByte(1).putLong(42).putByte(0).putBytes(new byte[] {7}),
            w -> ObjGetCodec.writeInline(w, 42, false, MemorySegment.ofArray(new byte[] {7})));
    }

    @Test
    void objGetRejectsBadCountsAndUnknownKinds()
    {
        final ObjGetCodec.Request get = new ObjGetCodec.Request();
        assertEquals("a batch holds 0 keys; it must hold 1..10000", assertCode(StatusCode.INVALID,
            () -> get.read(raw(MessageType.OBJ_GET, w -> w.putLong(0).putInt(0)))).detail());
        final BodyWriter unknown = reply(MessageType.OBJ_GET);
        unknown.putInt(1).putByte(3).putLong(1).putByte(0);
        final BodyReader in = readReply(unknown);
        ObjGetCodec.readEntryCount(in, 1);
        assertThrows(ProtocolException.class, () -> ObjGetCodec.readEntry(in, new ValueEntry()));
    }

    @Test
    void referenceMessagesRoundTrip()
    {
        final BodyWriter out = request(MessageType.OBJ_INC_REF);
        ObjChangeRefCodec.writeRequest(out, "remote-1", List.of("k1", "k2"));
        final ObjChangeRefCodec.Request<String> change = new ObjChangeRefCodec.Request<>();
        change.read(read(out), "ctx", (id, context) -> context + ":" + id);
        assertEquals("ctx:remote-1", change.holder());
        assertEquals(List.of("k1", "k2"), change.keys());
        assertSameBody(w -> w.putString("").putInt(1).putString("k"),
            w -> ObjChangeRefCodec.writeRequest(w, "", List.of("k")));

        final BodyWriter query = request(MessageType.OBJ_QUERY_REF);
        ObjQueryRefCodec.writeRequest(query, "obj");
        assertEquals("obj", ObjQueryRefCodec.readRequest(read(query)));
        final BodyWriter count = reply(MessageType.OBJ_QUERY_REF);
        ObjQueryRefCodec.writeReply(count, 3);
        assertEquals(3, ObjQueryRefCodec.readReply(readReply(count)));

        final BodyWriter release = request(MessageType.OBJ_RELEASE_REFS);
        ObjReleaseRefsCodec.writeRequest(release, "remote-1");
        assertEquals("remote-1", ObjReleaseRefsCodec.readRequest(read(release)));
        final BodyWriter released = reply(MessageType.OBJ_RELEASE_REFS);
        ObjReleaseRefsCodec.writeReply(released, 17);
        assertEquals(17, ObjReleaseRefsCodec.readReply(readReply(released)));
        assertThrows(ProtocolException.class, () -> ObjReleaseRefsCodec.readReply(readReply(
            reply(MessageType.OBJ_RELEASE_REFS))));
    }

    @Test
    void aBadHolderFailsTheReferenceRequestBeforeItsKeysAreRead()
    {
        final ObjChangeRefCodec.Request<String> change = new ObjChangeRefCodec.Request<>();
        // no keys at all: the holder's own error comes first
        assertEquals("bad holder", assertCode(StatusCode.INVALID, () -> change.read(raw(MessageType.OBJ_DEC_REF,
            w -> w.putString("bad id").putInt(0)), null, (id, context) ->
            {
                throw new DsException(StatusCode.INVALID, "bad holder");
            })).detail());
        assertCode(StatusCode.INVALID, () -> change.read(raw(MessageType.OBJ_INC_REF,
            w -> w.putString("").putInt(0)), null, (id, context) -> id));
    }

    @Test
    void latchNoticesRoundTripAndRefuseUnknownKinds()
    {
        final BodyWriter out = request(MessageType.LATCH_HELD);
        LatchCodec.writeRequest(out, 987_654, ObjectHeader.LATCH_KIND_READ);
        final LatchCodec.Request latch = new LatchCodec.Request();
        latch.read(read(out));
        assertEquals(987_654, latch.allocationId());
        assertEquals(ObjectHeader.LATCH_KIND_READ, latch.kind());
        assertSameBody(w -> w.putLong(5).putByte(1), w -> LatchCodec.writeRequest(w, 5, ObjectHeader.LATCH_KIND_WRITE));
        assertEquals("latch kind 9 is neither 1 (write) nor 2 (read)", assertCode(StatusCode.INVALID,
            () -> latch.read(raw(MessageType.LATCH_HELD, w -> w.putLong(1).putByte(9)))).detail());
        assertThrows(ProtocolException.class, () -> latch.read(raw(MessageType.LATCH_RELEASED, w -> w.putLong(1))));
    }
}
