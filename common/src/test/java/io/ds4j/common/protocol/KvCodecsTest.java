package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The KV codecs (docs/protocol.md 4, 5.3 to 5.12): round trips, the exact bytes, and what a bad body gets. */
class KvCodecsTest
{
    /** What the worker decodes set parameters into, in these tests. */
    private record Params(WriteMode writeMode, ExistenceOpt existence, CacheType cacheType, int ttlSecond)
    {
    }

    private static void assertInvalid(final String message, final Runnable decode)
    {
        final DsException e = assertThrows(DsException.class, decode::run);
        assertEquals(StatusCode.INVALID, e.code());
        assertEquals(message, e.detail());
    }

    // ---------------------------------------------------------------- KV_SET and the set parameters

    @Test
    void kvSetRoundTripsParametersAndItems()
    {
        final BodyWriter out = request(MessageType.KV_SET);
        KvSetCodec.writeHeader(out, WriteMode.WRITE_BACK_L2_CACHE, ExistenceOpt.NX, CacheType.MEMORY, 30, 2);
        KvSetCodec.writeItem(out, "k1", new byte[] {1, 2, 3});
        KvSetCodec.writeItem(out, "k2", MemorySegment.ofArray(new byte[0]));
        final KvSetCodec.Request<Params> set = new KvSetCodec.Request<>();
        final BodyReader in = read(out);
        set.read(in, Params::new);
        assertEquals(new Params(WriteMode.WRITE_BACK_L2_CACHE, ExistenceOpt.NX, CacheType.MEMORY, 30), set.params());
        assertEquals(2, set.count());
        set.next();
        assertEquals("k1", set.key());
        assertArrayEquals(new byte[] {1, 2, 3}, bytes(set.value()));
        set.next();
        assertEquals("k2", set.key());
        assertEquals(0, set.value().byteSize());
        assertEquals(0, in.remaining());
    }

    @Test
    void kvSetWritesTheDocumentedBytes()
    {
        assertSameBody(w -> w.putByte(3).putByte(1).putByte(0).putInt(-4).putInt(1).putString("k")
            .putBytes(new byte[] {9}), w ->
            {
                KvSetCodec.writeHeader(w, WriteMode.NONE_L2_CACHE_EVICT, ExistenceOpt.NX, CacheType.MEMORY, -4, 1);
                KvSetCodec.writeItem(w, "k", new byte[] {9});
            });
        assertEquals(8 + 3, KvSetCodec.itemOverhead("abc"));
    }

    @Test
    void eachSetParameterIsCheckedAsSoonAsItIsRead()
    {
        final KvSetCodec.Request<Params> set = new KvSetCodec.Request<>();
        // only the bad byte is in the frame: it fails as INVALID, not as a frame too short
        assertInvalid("unknown write mode 99, expected 0..4",
            () -> set.read(raw(MessageType.KV_SET, w -> w.putByte(99)), Params::new));
        assertInvalid("unknown existence option 7, expected 0 or 1",
            () -> set.read(raw(MessageType.KV_SET, w -> w.putByte(0).putByte(7)), Params::new));
        assertInvalid("unknown cache type 5, expected 0 or 1",
            () -> set.read(raw(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(5)), Params::new));
        // the reader's factory refuses before the count is read
        final DsException refused = assertThrows(DsException.class, () -> set.read(
            raw(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(1).putInt(0)), (m, e, c, t) ->
            {
                throw new DsException(StatusCode.NOT_SUPPORTED, "no disk here");
            }));
        assertEquals(StatusCode.NOT_SUPPORTED, refused.code());
        assertThrows(ProtocolException.class,
            () -> set.read(raw(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putByte(0)), Params::new));
    }

    @Test
    void kvSetCountsOutsideTheBatchLimitAreInvalidAndThoseBeyondTheFrameAreProtocolErrors()
    {
        final KvSetCodec.Request<Params> set = new KvSetCodec.Request<>();
        assertInvalid("a set batch holds 0 keys; it must hold 1..1999",
            () -> set.read(raw(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(0)),
                Params::new));
        assertInvalid("a set batch holds 2000 keys; it must hold 1..1999", () -> set.read(raw(MessageType.KV_SET, w ->
        {
            w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(2000);
            for (int i = 0; i < 2000; i++)
            {
                w.putString("k" + i).putBytes(new byte[] {1});
            }
        }), Params::new));
        assertThrows(ProtocolException.class, () -> set.read(raw(MessageType.KV_SET,
            w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(1_000_000)), Params::new));
        assertThrows(ProtocolException.class, () -> set.read(raw(MessageType.KV_SET,
            w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(-1)), Params::new));
        // a null value (-1) is a protocol error: the worker reads values in place
        set.read(raw(MessageType.KV_SET, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(1).putString("k")
            .putInt(-1).putLong(0)), Params::new);
        assertThrows(ProtocolException.class, set::next);
    }

    // ---------------------------------------------------------------- KV_CREATE

    @Test
    void kvCreateRoundTripsRequestAndReply()
    {
        final BodyWriter out = request(MessageType.KV_CREATE);
        KvCreateCodec.writeHeader(out, WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE, CacheType.MEMORY, 0, 2);
        KvCreateCodec.writeItem(out, "a", 100);
        KvCreateCodec.writeItem(out, "b", -1);
        final KvCreateCodec.Request<Params> create = new KvCreateCodec.Request<>();
        create.read(read(out), Params::new);
        assertEquals(2, create.count());
        create.next();
        assertEquals("a", create.key());
        assertEquals(100, create.size());
        create.next();
        assertEquals("b", create.key());
        assertEquals(-1, create.size());

        final BodyWriter answer = reply(MessageType.KV_CREATE);
        KvCreateCodec.writeReplyCount(answer, 2);
        KvCreateCodec.writeCreated(answer, 77, 0, 4160);
        KvCreateCodec.writeFailed(answer, new DsException(StatusCode.INVALID, "negative size"));
        final BodyReader in = readReply(answer);
        assertEquals(2, KvCreateCodec.readReplyCount(in, 2));
        final CreatedRegion region = new CreatedRegion();
        KvCreateCodec.readReplyItem(in, region);
        assertTrue(region.ok());
        assertEquals(77, region.allocationId());
        assertEquals(0, region.segmentIndex());
        assertEquals(4160, region.dataOffset());
        assertNull(region.message());
        KvCreateCodec.readReplyItem(in, region);
        assertFalse(region.ok());
        assertEquals(StatusCode.INVALID.value(), region.status());
        assertEquals("negative size", region.message());
        assertEquals(0, in.remaining());
    }

    @Test
    void kvCreateWritesTheDocumentedBytesAndChecksItsCounts()
    {
        assertSameBody(w -> w.putByte(1).putByte(0).putByte(0).putInt(5).putInt(1).putString("k").putLong(64),
            w ->
            {
                KvCreateCodec.writeHeader(w, WriteMode.WRITE_THROUGH_L2_CACHE, ExistenceOpt.NONE, CacheType.MEMORY, 5,
                    1);
                KvCreateCodec.writeItem(w, "k", 64);
            });
        assertSameBody(w -> w.putInt(1).putInt(0).putLong(7).putInt(0).putLong(4160).putInt(2).putString("no"),
            w ->
            {
                KvCreateCodec.writeReplyCount(w, 1);
                KvCreateCodec.writeCreated(w, 7, 0, 4160);
                KvCreateCodec.writeFailed(w, new DsException(StatusCode.INVALID, "no"));
            });
        final KvCreateCodec.Request<Params> create = new KvCreateCodec.Request<>();
        assertInvalid("a set batch holds 0 keys; it must hold 1..1999", () -> create.read(
            raw(MessageType.KV_CREATE, w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(0)), Params::new));
        // 12 bytes per item at least: 2 items of 8 do not fit
        assertThrows(ProtocolException.class, () -> create.read(raw(MessageType.KV_CREATE,
            w -> w.putByte(0).putByte(0).putByte(0).putInt(0).putInt(2).putLong(0).putLong(0)), Params::new));
        final BodyWriter tooMany = reply(MessageType.KV_CREATE);
        KvCreateCodec.writeReplyCount(tooMany, 2);
        KvCreateCodec.writeCreated(tooMany, 1, 0, 0);
        KvCreateCodec.writeCreated(tooMany, 2, 0, 0);
        assertThrows(ProtocolException.class, () -> KvCreateCodec.readReplyCount(readReply(tooMany), 1));
    }

    // ---------------------------------------------------------------- KV_PUBLISH, KV_ABORT, RELEASE

    @Test
    void allocationIdListsRoundTrip()
    {
        final BodyWriter publish = request(MessageType.KV_PUBLISH);
        KvPublishCodec.writeRequest(publish, List.of(5L, 6L, -1L), Long::longValue);
        final BodyReader in = read(publish);
        assertEquals(3, KvPublishCodec.readCount(in));
        assertEquals(5, AllocationIdsCodec.readId(in));
        assertEquals(6, AllocationIdsCodec.readId(in));
        assertEquals(-1, AllocationIdsCodec.readId(in));

        final BodyWriter release = request(MessageType.RELEASE);
        AllocationIdsCodec.write(release, new long[] {9, 8, 7}, 2);
        final BodyReader released = read(release);
        assertEquals(2, AllocationIdsCodec.readCount(released));
        assertEquals(9, AllocationIdsCodec.readId(released));
        assertEquals(8, AllocationIdsCodec.readId(released));
        assertEquals(0, released.remaining());

        assertSameBody(w -> w.putInt(1).putLong(42), w -> AllocationIdsCodec.write(w, 42));
        assertSameBody(w -> w.putInt(0), w -> AllocationIdsCodec.write(w, new long[0], 0));
        assertEquals("#42", KvPublishCodec.unknownIdKey(42));
    }

    @Test
    void allocationIdCountsAreCheckedPerMessage()
    {
        assertInvalid("a set batch holds 0 keys; it must hold 1..1999",
            () -> KvPublishCodec.readCount(raw(MessageType.KV_PUBLISH, w -> w.putInt(0))));
        assertThrows(ProtocolException.class,
            () -> KvPublishCodec.readCount(raw(MessageType.KV_PUBLISH, w -> w.putInt(1_000_000))));
        // RELEASE and KV_ABORT have no batch limit: 0 is fine, only the frame bounds them
        assertEquals(0, AllocationIdsCodec.readCount(raw(MessageType.RELEASE, w -> w.putInt(0))));
        assertThrows(ProtocolException.class,
            () -> AllocationIdsCodec.readCount(raw(MessageType.RELEASE, w -> w.putInt(1_000_000))));
        assertThrows(ProtocolException.class,
            () -> AllocationIdsCodec.readCount(raw(MessageType.KV_ABORT, w -> w.putInt(-5))));
    }

    // ---------------------------------------------------------------- KV_GET

    @Test
    void kvGetRoundTripsRequestAndEveryKindOfEntry()
    {
        final BodyWriter out = request(MessageType.KV_GET);
        KvGetCodec.writeRequest(out, 250, true, List.of("a", "b"));
        final KvGetCodec.Request get = new KvGetCodec.Request();
        get.read(read(out));
        assertEquals(250, get.subTimeoutMs());
        assertTrue(get.views());
        assertEquals(List.of("a", "b"), get.keys());

        final BodyWriter answer = reply(MessageType.KV_GET);
        KvGetCodec.writeEntryCount(answer, 4);
        KvGetCodec.writeMissing(answer);
        final int before = answer.length();
        KvGetCodec.writeInline(answer, MemorySegment.ofArray(new byte[] {'x', 'y', 'z'}));
        assertEquals(KvGetCodec.INLINE_ENTRY_OVERHEAD + 3, answer.length() - before);
        KvGetCodec.writeView(answer, 7, 0, 4160, 600_000);
        KvGetCodec.writeInline(answer, MemorySegment.ofArray(new byte[] {1}));
        final BodyReader in = readReply(answer);
        final ValueEntry entry = new ValueEntry();
        assertEquals(4, KvGetCodec.readEntryCount(in, 4));
        assertSame(ValueKind.MISSING, KvGetCodec.readEntry(in, entry));
        assertSame(ValueKind.INLINE, KvGetCodec.readEntry(in, entry));
        assertArrayEquals(new byte[] {'x', 'y', 'z'}, KvGetCodec.readInline(in));
        assertSame(ValueKind.POOL_VIEW, KvGetCodec.readEntry(in, entry));
        assertEquals(7, entry.allocationId());
        assertEquals(0, entry.segmentIndex());
        assertEquals(4160, entry.dataOffset());
        assertEquals(600_000, entry.dataSize());
        assertSame(ValueKind.INLINE, KvGetCodec.readEntry(in, entry));
        assertEquals(0, entry.allocationId(), "an entry forgets the previous one's reference");
        assertArrayEquals(new byte[] {1}, bytes(KvGetCodec.readInlineInPlace(in)));
        assertEquals(0, in.remaining());
    }

    /** docs/protocol.md section 12, byte for byte. */
    @Test
    void kvGetMatchesTheExampleOfTheProtocolDocument()
    {
        final BodyWriter out = new BodyWriter(256).begin(MessageType.KV_GET, (short) 0, 2);
        KvGetCodec.writeRequest(out, 0, false, List.of("a"));
        assertArrayEquals(hex("22000000 1400 0000 0200000000000000 0000000000000000 00 01000000 01000000 61"),
            frameBytes(out));
        final BodyWriter inline = new BodyWriter(256).beginResponse(MessageType.KV_GET, 2, 0);
        KvGetCodec.writeEntryCount(inline, 1);
        KvGetCodec.writeInline(inline, MemorySegment.ofArray(new byte[] {'x', 'y', 'z'}));
        assertArrayEquals(hex("20000000 1400 0100 0200000000000000 00000000 01000000 01 03000000 78797a"),
            frameBytes(inline));
        final BodyWriter view = new BodyWriter(256).beginResponse(MessageType.KV_GET, 2, 0);
        KvGetCodec.writeEntryCount(view, 1);
        KvGetCodec.writeView(view, 7, 0, 4160, 600_000);
        assertArrayEquals(hex("35000000 1400 0100 0200000000000000 00000000 01000000 02 0700000000000000 00000000"
            + " 4010000000000000 c027090000000000"), frameBytes(view));
    }

    @Test
    void kvGetRejectsBadCountsAndUnknownKinds()
    {
        final KvGetCodec.Request get = new KvGetCodec.Request();
        assertInvalid("a batch holds 0 keys; it must hold 1..10000",
            () -> get.read(raw(MessageType.KV_GET, w -> w.putLong(0).putBoolean(false).putInt(0))));
        assertInvalid("a batch holds 10001 keys; it must hold 1..10000", () -> get.read(raw(MessageType.KV_GET, w ->
        {
            w.putLong(0).putBoolean(false).putInt(10_001);
            for (int i = 0; i < 10_001; i++)
            {
                w.putString("k" + i);
            }
        })));
        assertThrows(ProtocolException.class,
            () -> get.read(raw(MessageType.KV_GET, w -> w.putLong(0).putBoolean(false).putInt(1_000_000))));
        assertThrows(ProtocolException.class, () -> get.read(raw(MessageType.KV_GET, w -> w.putLong(0))));
        assertThrows(ProtocolException.class,
            () -> get.read(raw(MessageType.KV_GET, w -> w.putLong(0).putBoolean(false).putInt(1).putInt(500))));

        final BodyWriter unknown = reply(MessageType.KV_GET);
        unknown.putInt(1).putByte(7);
        final BodyReader in = readReply(unknown);
        KvGetCodec.readEntryCount(in, 1);
        assertThrows(ProtocolException.class, () -> KvGetCodec.readEntry(in, new ValueEntry()));
        final BodyWriter more = reply(MessageType.KV_GET);
        more.putInt(2).putByte(0).putByte(0);
        assertThrows(ProtocolException.class, () -> KvGetCodec.readEntryCount(readReply(more), 1));
        final BodyWriter cut = reply(MessageType.KV_GET);
        cut.putInt(1).putByte(2).putLong(7);
        final BodyReader cutIn = readReply(cut);
        KvGetCodec.readEntryCount(cutIn, 1);
        assertThrows(ProtocolException.class, () -> KvGetCodec.readEntry(cutIn, new ValueEntry()));
    }

    // ---------------------------------------------------------------- KV_DELETE, KV_EXIST, KV_EXPIRE

    @Test
    void keyListRequestsRoundTrip()
    {
        final List<String> keys = new ArrayList<>(List.of("stale"));
        final BodyWriter delete = request(MessageType.KV_DELETE);
        KvDeleteCodec.writeRequest(delete, List.of("x", "y"));
        KvDeleteCodec.readRequest(read(delete), keys);
        assertEquals(List.of("x", "y"), keys);

        final BodyWriter exist = request(MessageType.KV_EXIST);
        KvExistCodec.writeRequest(exist, List.of("x", "y", "z"));
        KvExistCodec.readRequest(read(exist), keys);
        assertEquals(List.of("x", "y", "z"), keys);
        final BodyWriter answer = reply(MessageType.KV_EXIST);
        KvExistCodec.writeReply(answer, keys, "y"::equals);
        assertEquals(List.of(false, true, false), KvExistCodec.readReply(readReply(answer), 3));

        final BodyWriter expire = request(MessageType.KV_EXPIRE);
        KvExpireCodec.writeRequest(expire, 60, List.of("x"));
        final KvExpireCodec.Request request = new KvExpireCodec.Request();
        request.read(read(expire));
        assertEquals(60, request.ttlSecond());
        assertEquals(List.of("x"), request.keys());

        assertSameBody(w -> w.putInt(2).putString("x").putString("y"), w -> KvDeleteCodec.writeRequest(w,
            List.of("x", "y")));
        assertSameBody(w -> w.putInt(0).putInt(1).putString("x"), w -> KvExpireCodec.writeRequest(w, 0,
            List.of("x")));
        assertSameBody(w -> w.putInt(2).putBoolean(true).putBoolean(false), w -> KvExistCodec.writeReply(w,
            List.of("a", "b"), "a"::equals));
    }

    @Test
    void keyListRequestsCheckTheirCountsAndTtl()
    {
        final List<String> keys = new ArrayList<>();
        assertInvalid("a batch holds 0 keys; it must hold 1..10000",
            () -> KvDeleteCodec.readRequest(raw(MessageType.KV_DELETE, w -> w.putInt(0)), keys));
        assertThrows(ProtocolException.class,
            () -> KvExistCodec.readRequest(raw(MessageType.KV_EXIST, w -> w.putInt(Integer.MAX_VALUE)), keys));
        assertThrows(ProtocolException.class, () -> KvDeleteCodec.readRequest(raw(MessageType.KV_DELETE,
            w -> w.putInt(1_000_000).putString("a")), keys));
        final KvExpireCodec.Request expire = new KvExpireCodec.Request();
        // a negative ttl fails before the keys are read: here there are none
        assertInvalid("ttl_second must be 0 (never expires) or positive, not -1",
            () -> expire.read(raw(MessageType.KV_EXPIRE, w -> w.putInt(-1))));
        assertThrows(ProtocolException.class, () -> expire.read(raw(MessageType.KV_EXPIRE, w -> w.putByte(0)
            .putByte(0))));
        final BodyWriter more = reply(MessageType.KV_EXIST);
        KvExistCodec.writeReply(more, List.of("a", "b"), key -> true);
        assertThrows(ProtocolException.class, () -> KvExistCodec.readReply(readReply(more), 1));
    }

    // ---------------------------------------------------------------- failed keys and status

    @Test
    void failedKeysRoundTripAndTheWriterIsReusable()
    {
        final BatchCodec.FailedKeys failed = new BatchCodec.FailedKeys();
        final BodyWriter none = reply(MessageType.KV_DELETE);
        failed.begin(none).finish();
        assertEquals(List.of(), BatchCodec.readFailures(readReply(none)));

        final BodyWriter some = reply(MessageType.KV_SET);
        failed.begin(some);
        failed.add("bad/key", new DsException(StatusCode.INVALID, "invalid key"));
        failed.add("#12", new DsException(StatusCode.BUFFER_DEPRECATED, "gone"));
        failed.finish();
        assertEquals(List.of(new BatchCodec.Failure("bad/key", StatusCode.INVALID, "invalid key"),
            new BatchCodec.Failure("#12", StatusCode.BUFFER_DEPRECATED, "gone")),
            BatchCodec.readFailures(readReply(some)));
        final BodyWriter byHand = reply(MessageType.KV_SET);
        byHand.putInt(1).putString("k").putInt(2).putString("m");
        final BodyWriter codec = reply(MessageType.KV_SET);
        failed.begin(codec);
        failed.add("k", new DsException(StatusCode.INVALID, "m"));
        failed.finish();
        assertArrayEquals(Frames.body(byHand), Frames.body(codec));

        final BodyWriter tooMany = reply(MessageType.KV_SET);
        tooMany.putInt(5).putString("k");
        assertThrows(ProtocolException.class, () -> BatchCodec.readFailures(readReply(tooMany)));
    }

    @Test
    void anErrorResponseCarriesTheCodeAndTheReason()
    {
        final BodyWriter out = new BodyWriter(256);
        StatusCodec.writeError(out, MessageType.KV_GET, 3, StatusCode.INVALID, "invalid key: key is empty");
        final BodyReader in = read(out);
        assertTrue(in.isResponse());
        assertEquals(3, in.correlationId());
        final DsException e = assertThrows(DsException.class, () -> StatusCodec.readStatus(in));
        assertEquals(StatusCode.INVALID, e.code());
        assertEquals("invalid key: key is empty", e.detail());
        final BodyWriter unknown = new BodyWriter(256).beginResponse(MessageType.KV_GET, 3, 987_654);
        unknown.putString("from a newer worker");
        assertEquals(StatusCode.UNKNOWN_ERROR, assertThrows(DsException.class,
            () -> StatusCodec.readStatus(read(unknown))).code());
        final BodyWriter cut = new BodyWriter(256).beginResponse(MessageType.KV_GET, 3, 2);
        assertThrows(ProtocolException.class, () -> StatusCodec.readStatus(read(cut)));
    }

    private static byte[] frameBytes(final BodyWriter out)
    {
        final var frame = out.finish().frame();
        final byte[] bytes = new byte[frame.limit()];
        frame.get(0, bytes);
        return bytes;
    }

    private static byte[] hex(final String spaced)
    {
        final String digits = spaced.replace(" ", "");
        final byte[] bytes = new byte[digits.length() / 2];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte) Integer.parseInt(digits.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }
}
