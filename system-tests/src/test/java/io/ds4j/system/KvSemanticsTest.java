package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.common.CacheType;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.system.Topologies.Clients;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.KIB;
import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.assertCode;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV semantics (spec §1.3, §1.8) through both transports, shared memory (AUTO on this host) and TCP with values
 * inline, on two topologies: one real worker with a 64 MiB pool, and a real cluster of three such workers where each
 * test's writer, reader and deleter are clients of three different workers (so the key's owner is one of them, its
 * primary the writer's worker, and every read a pull into the reader's worker). Every test takes its clients from a
 * {@link Clients} fixture ({@link Topologies}); on one worker the three roles are one client, as the suite was written
 * first. Every error case checks the status code, then that the clients still do a round trip.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvSemanticsTest
{
    /** Runs a test once per topology and transport. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.ds4j.system.KvSemanticsTest#fixtures")
    @interface EveryTopology
    {
    }

    private static Topologies topologies;

    @BeforeAll
    static void startWorkers() throws Exception
    {
        topologies = Topologies.start(64);
    }

    static List<Clients> fixtures()
    {
        return topologies.fixtures();
    }

    @AfterAll
    static void stopWorkers()
    {
        if (topologies != null)
        {
            topologies.close();
        }
    }

    // ------------------------------------------------------------------ transports

    @EveryTopology
    void transportIsWhatWasAskedFor(final Clients c)
    {
        final List<DsClient> roles = List.of(c.writer(), c.reader(), c.deleter());
        for (int i = 0; i < roles.size(); i++)
        {
            assertEquals(c.transport() == Transport.AUTO, roles.get(i).usesSharedMemory(),
                "AUTO on the worker's host must use shared memory; TCP_INLINE must not");
            assertEquals(c.workers().get(Math.min(i, c.workers().size() - 1)), roles.get(i).workerAddress());
        }
    }

    // ------------------------------------------------------------------ set and get

    @EveryTopology
    void setAndGetByteArray(final Clients c)
    {
        final String key = c.key("bytes");
        final byte[] value = randomBytes(1, 777);
        c.w().set(key, value);
        assertArrayEquals(value, c.r().get(key));
        assertArrayEquals(value, c.r().get(List.of(key), 0).getFirst());
    }

    @EveryTopology
    void setFromByteBufferStoresPositionToLimitAndLeavesTheBufferAlone(final Clients c)
    {
        final byte[] all = randomBytes(2, 1000);
        final ByteBuffer heap = ByteBuffer.wrap(all).position(100).limit(350);
        c.w().set(c.key("heap-bb"), heap);
        assertArrayEquals(Arrays.copyOfRange(all, 100, 350), c.r().get(c.key("heap-bb")));
        assertEquals(100, heap.position());
        assertEquals(350, heap.limit());

        final byte[] big = randomBytes(3, 600 * KIB);
        final ByteBuffer direct = ByteBuffer.allocateDirect(big.length + 20);
        direct.position(10);
        direct.put(big);
        direct.position(10).limit(10 + big.length);
        c.w().set(c.key("direct-bb"), direct, SetParam.DEFAULT);
        assertArrayEquals(big, c.r().get(c.key("direct-bb")));
        assertEquals(10, direct.position());
        c.d().delete(List.of(c.key("heap-bb"), c.key("direct-bb")));
    }

    @EveryTopology
    void getIntoTheCallersSegmentCopiesAndReturnsTheSize(final Clients c)
    {
        final byte[] big = randomBytes(77, 2 * MIB);
        final byte[] small = randomBytes(78, 300);
        c.w().set(c.key("into-big"), big);
        c.w().set(c.key("into-small"), small);
        final KvClient kv = c.r();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined())
        {
            final java.lang.foreign.MemorySegment target = arena.allocate(4 * MIB);
            assertEquals(big.length, kv.get(c.key("into-big"), target));
            assertArrayEquals(big, target.asSlice(0, big.length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            assertEquals(small.length, kv.get(c.key("into-small"), target));
            assertArrayEquals(small, target.asSlice(0, small.length)
                .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            final io.ds4j.common.DsException tooSmall = assertCode(StatusCode.INVALID,
                () -> kv.get(c.key("into-big"), arena.allocate(MIB)));
            assertTrue(tooSmall.getMessage().contains(String.valueOf(big.length)), tooSmall.getMessage());
            assertCode(StatusCode.NOT_FOUND, () -> kv.get(c.key("into-missing"), target));
        }
        c.assertServe();
    }

    @EveryTopology
    void setFromMemorySegment(final Clients c)
    {
        for (final int size : new int[] {5, 700 * KIB})
        {
            final byte[] value = randomBytes(size, size);
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment outer = arena.allocate(size + 64);
                MemorySegment.copy(value, 0, outer, ValueLayout.JAVA_BYTE, 32, size);
                c.w().set(c.key("segment-" + size), outer.asSlice(32, size));
            }
            assertArrayEquals(value, c.r().get(c.key("segment-" + size)));
            c.d().delete(c.key("segment-" + size));
        }
    }

    @EveryTopology
    void overwriteGivesTheNewValue(final Clients c)
    {
        final String key = c.key("overwrite");
        c.w().set(key, "first".getBytes());
        c.w().set(key, "second value".getBytes());
        assertArrayEquals("second value".getBytes(), c.r().get(key));
        final byte[] big = randomBytes(4, 900 * KIB);
        c.w().set(key, big);
        assertArrayEquals(big, c.r().get(key));
        c.w().set(key, new byte[] {9});
        assertArrayEquals(new byte[] {9}, c.r().get(key));
    }

    @EveryTopology
    void nxKeepsTheOldValueAndSucceeds(final Clients c)
    {
        final SetParam nx = SetParam.builder().existence(ExistenceOpt.NX).build();
        final String key = c.key("nx");
        c.d().delete(key);
        c.w().set(key, "old".getBytes(), nx); // NX on a missing key creates it
        assertArrayEquals("old".getBytes(), c.r().get(key));
        c.w().set(key, "new".getBytes(), nx);
        assertArrayEquals("old".getBytes(), c.r().get(key));
        c.w().set(key, randomBytes(5, 800 * KIB), nx); // above the inline threshold too
        assertArrayEquals("old".getBytes(), c.r().get(key));
        assertEquals(List.of(), c.w().mset(List.of(key, c.key("nx-2")),
            List.of("m1".getBytes(), "m2".getBytes()), nx));
        assertArrayEquals("old".getBytes(), c.r().get(key));
        assertArrayEquals("m2".getBytes(), c.r().get(c.key("nx-2")));
    }

    @EveryTopology
    void getOfAMissingKeyIsNotFound(final Clients c)
    {
        assertCode(StatusCode.NOT_FOUND, () -> c.r().get(c.key("never-set")));
        c.assertServe();
    }

    @EveryTopology
    void batchGetAlignsNullsWithMissingKeysAndFailsOnlyWhenAllAreMissing(final Clients c)
    {
        c.w().set(c.key("have-1"), "one".getBytes());
        c.w().set(c.key("have-2"), "two".getBytes());
        final List<byte[]> values = c.r().get(List.of(c.key("missing-1"), c.key("have-1"),
            c.key("missing-2"), c.key("have-2")), 0);
        assertEquals(4, values.size());
        assertNull(values.get(0));
        assertArrayEquals("one".getBytes(), values.get(1));
        assertNull(values.get(2));
        assertArrayEquals("two".getBytes(), values.get(3));

        assertCode(StatusCode.NOT_FOUND, () -> c.r().get(List.of(c.key("missing-1"),
            c.key("missing-2")), 0));
        c.assertServe();
    }

    // ------------------------------------------------------------------ batches that return failed keys

    @EveryTopology
    void msetReturnsTheFailedKeysAndStoresTheOthers(final Clients c)
    {
        final String good1 = c.key("mset-1");
        final String good2 = c.key("mset-2");
        final String bad = "bad/key"; // not checked by the SDK for mset: the worker rejects it per key
        final List<String> failed = c.w().mset(List.of(good1, bad, good2),
            List.of("a".getBytes(), "b".getBytes(), "c".getBytes()), SetParam.DEFAULT);
        assertEquals(List.of(bad), failed);
        assertArrayEquals("a".getBytes(), c.r().get(good1));
        assertArrayEquals("c".getBytes(), c.r().get(good2));

        assertCode(StatusCode.INVALID, () -> c.w().mset(List.of("bad key", "bad~key"),
            List.of("x".getBytes(), "y".getBytes()), SetParam.DEFAULT));
        assertCode(StatusCode.INVALID, () -> c.w().mset(List.of(good1, good2), List.of("x".getBytes()),
            SetParam.DEFAULT));
        c.assertServe();
    }

    @EveryTopology
    void deleteOfAMissingKeyIsNotAFailure(final Clients c)
    {
        final String key = c.key("to-delete");
        c.w().set(key, "v".getBytes());
        assertEquals(List.of(), c.d().delete(List.of(key, c.key("never-there"))));
        assertEquals(List.of(false), c.r().exist(List.of(key)));
        assertEquals(List.of(), c.d().delete(List.of(key)));
        c.d().delete(key);
        assertCode(StatusCode.NOT_FOUND, () -> c.r().get(key));

        c.w().set(key, "v".getBytes());
        assertEquals(List.of("bad key"), c.d().delete(List.of(key, "bad key")));
        assertEquals(List.of(false), c.r().exist(List.of(key)));
        c.assertServe();
    }

    @EveryTopology
    void expireOfAMissingKeyIsAFailedKeyWithNotFound(final Clients c)
    {
        final String key = c.key("expire-present");
        c.w().set(key, "v".getBytes());
        assertEquals(List.of(c.key("expire-missing")),
            c.d().expire(List.of(key, c.key("expire-missing")), 100));
        assertCode(StatusCode.NOT_FOUND, () -> c.d().expire(List.of(c.key("expire-missing")), 5));
        assertCode(StatusCode.INVALID, () -> c.d().expire(List.of(key), -1));
        assertEquals(List.of(), c.d().expire(List.of(key), 0)); // 0 clears the TTL
        assertArrayEquals("v".getBytes(), c.r().get(key));
        c.assertServe();
    }

    @EveryTopology
    void existIsAlignedWithTheKeys(final Clients c)
    {
        c.w().set(c.key("exists"), new byte[0]);
        assertEquals(List.of(true, false, true), c.r().exist(List.of(c.key("exists"),
            c.key("exists-not"), c.key("exists"))));
        assertCode(StatusCode.INVALID, () -> c.r().exist(List.of(c.key("exists"), "bad key")));
        c.assertServe();
    }

    @EveryTopology
    void setValueAndGenerateKey(final Clients c)
    {
        final byte[] value = randomBytes(6, 321);
        final String generated = c.w().setValue(value, SetParam.DEFAULT);
        assertTrue(KeyRules.isValid(generated), generated);
        assertArrayEquals(value, c.r().get(generated));

        final String a = c.w().generateKey("pfx:");
        final String b = c.r().generateKey("pfx:");
        assertTrue(a.startsWith("pfx:") && b.startsWith("pfx:"), a + " " + b);
        assertNotEquals(a, b);
        assertTrue(KeyRules.isValid(a), a);
        assertNotEquals(c.w().generateKey(""), c.w().generateKey(""));
        assertCode(StatusCode.INVALID, () -> c.w().generateKey("bad/prefix"));
    }

    // ------------------------------------------------------------------ keys

    @EveryTopology
    void keysWithEveryAllowedPunctuationWork(final Clients c)
    {
        final List<String> keys = List.of(c.key("req-42:0_1"), c.key("a@b;c"),
            c.key(".-_!@#%^*()+=:;"), c.key("UPPER.lower.0123456789"));
        for (final String key : keys)
        {
            c.w().set(key, key.getBytes());
        }
        for (final String key : keys)
        {
            assertArrayEquals(key.getBytes(), c.r().get(key), key);
        }
        assertEquals(List.of(true, true, true, true), c.r().exist(keys));
        assertEquals(List.of(), c.d().delete(keys));
    }

    @EveryTopology
    void keyLengthLimitIs1024(final Clients c)
    {
        final String longest = "k".repeat(1024);
        c.w().set(longest, "x".getBytes());
        assertArrayEquals("x".getBytes(), c.r().get(longest));
        assertEquals(List.of(true), c.r().exist(List.of(longest)));
        assertEquals(List.of(), c.d().delete(List.of(longest)));

        final String tooLong = "k".repeat(1025);
        assertCode(StatusCode.INVALID, () -> c.w().set(tooLong, "x".getBytes()));
        assertCode(StatusCode.INVALID, () -> c.r().get(tooLong));
        // mset does not check keys in the SDK: the worker must
        assertEquals(List.of(tooLong), c.w().mset(List.of(c.key("len-ok"), tooLong),
            List.of("a".getBytes(), "b".getBytes()), SetParam.DEFAULT));
        assertCode(StatusCode.INVALID, () -> c.w().set("", "x".getBytes()));
        c.assertServe();
    }

    @EveryTopology
    void keysWithForbiddenCharactersAreInvalid(final Clients c)
    {
        for (final String bad : List.of("a/b", "a b", "a~b", "caf\u00e9", "\u952e", "a$b", "a&b", "tab\tkey",
            "new\nline"))
        {
            assertCode(StatusCode.INVALID, () -> c.w().set(bad, "x".getBytes()));
            assertCode(StatusCode.INVALID, () -> c.r().get(bad));
            assertCode(StatusCode.INVALID, () -> c.r().get(List.of(bad), 0));
            assertCode(StatusCode.INVALID, () -> c.w().mset(List.of(bad), List.of("x".getBytes()),
                SetParam.DEFAULT));
            assertCode(StatusCode.INVALID, () -> c.w().mcreate(List.of(bad), new long[] {4},
                SetParam.DEFAULT));
            assertCode(StatusCode.INVALID, () -> c.r().exist(List.of(bad)));
        }
        c.assertServe();
    }

    // ------------------------------------------------------------------ batch limits

    private static List<String> keys(final Clients c, final String prefix, final int count)
    {
        final List<String> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            keys.add(c.key(prefix + i));
        }
        return keys;
    }

    @EveryTopology
    void msetAndMcreateHoldFewerThan2000Keys(final Clients c)
    {
        final List<String> keys = keys(c, "batch-", 2000);
        final List<byte[]> values = new ArrayList<>(Collections.nCopies(2000, "v".getBytes()));
        assertCode(StatusCode.INVALID, () -> c.w().mset(keys, values, SetParam.DEFAULT));
        assertCode(StatusCode.INVALID, () -> c.w().mcreate(keys, new long[2000], SetParam.DEFAULT));
        assertEquals(List.of(false), c.r().exist(List.of(keys.getFirst())));
        c.assertServe();

        assertEquals(List.of(), c.w().mset(keys.subList(0, 1999), values.subList(0, 1999),
            SetParam.DEFAULT));
        assertEquals(Collections.nCopies(1999, true), c.r().exist(keys.subList(0, 1999)));
        assertEquals(List.of(), c.d().delete(keys.subList(0, 1999)));
    }

    @EveryTopology
    void readBatchesHoldAtMost10000Keys(final Clients c)
    {
        final List<String> keys = keys(c, "read-", 10_001);
        final List<byte[]> values = new ArrayList<>(Collections.nCopies(1999, "v".getBytes()));
        assertEquals(List.of(), c.w().mset(keys.subList(0, 1999), values, SetParam.DEFAULT));

        assertCode(StatusCode.INVALID, () -> c.r().get(keys, 0));
        assertCode(StatusCode.INVALID, () -> c.r().getBuffers(keys, 0));
        assertCode(StatusCode.INVALID, () -> c.r().exist(keys));
        assertCode(StatusCode.INVALID, () -> c.d().delete(keys));
        assertCode(StatusCode.INVALID, () -> c.d().expire(keys, 10));
        assertEquals(List.of(true), c.r().exist(List.of(keys.getFirst())), "a refused delete deleted");
        c.assertServe();

        final List<String> most = keys.subList(0, 10_000);
        final List<byte[]> got = c.r().get(most, 0);
        assertEquals(10_000, got.size());
        assertArrayEquals("v".getBytes(), got.get(1998));
        assertNull(got.get(1999));
        final List<Boolean> exist = c.r().exist(most);
        assertEquals(10_000, exist.size());
        assertTrue(exist.get(0));
        assertFalse(exist.get(9999));
        assertEquals(8001, c.d().expire(most, 100).size());
        assertEquals(List.of(), c.d().delete(most));
        assertEquals(List.of(false), c.r().exist(List.of(keys.getFirst())));
    }

    // ------------------------------------------------------------------ values

    @EveryTopology
    void valuesOfEverySizeRoundTripByteExact(final Clients c)
    {
        final int[] sizes = {0, 1, 63, 64, 65, 4095, 16 * KIB + 1, 499 * KIB, 500 * KIB - 1, 500 * KIB,
            500 * KIB + 1, 501 * KIB, 3 * MIB + 7, 8 * MIB};
        for (final int size : sizes)
        {
            final String key = c.key("size-" + size);
            final byte[] value = randomBytes(1000L + size, size);
            c.w().set(key, value);
            assertArrayEquals(value, c.r().get(key), "get of " + size + " bytes");
            assertArrayEquals(value, c.r().get(List.of(key), 0).getFirst(), "batch get of " + size);
            try (ReadOnlyBuffer view = c.r().getBuffers(List.of(key), 0).getFirst())
            {
                assertEquals(size, view.size());
                assertArrayEquals(value, view.toByteArray(), "getBuffers of " + size + " bytes");
                assertEquals(c.transport() == Transport.AUTO, view.isZeroCopy());
            }
            c.d().delete(key);
        }
    }

    @EveryTopology
    void valueLargerThanThePoolIsOutOfMemory(final Clients c)
    {
        final byte[] huge = new byte[65 * MIB];
        final String key = c.key("huge");
        assertCode(StatusCode.OUT_OF_MEMORY, () -> c.w().set(key, huge));
        assertEquals(List.of(false), c.r().exist(List.of(key)));
        c.assertServe();
    }

    @EveryTopology
    void diskCacheTypeIsNotSupportedYet(final Clients c)
    {
        final SetParam disk = SetParam.builder().cacheType(CacheType.DISK).build();
        final String key = c.key("disk");
        assertCode(StatusCode.NOT_SUPPORTED, () -> c.w().set(key, "v".getBytes(), disk));
        assertCode(StatusCode.NOT_SUPPORTED, () -> c.w().set(key, new byte[600 * KIB], disk));
        assertCode(StatusCode.NOT_SUPPORTED, () -> c.w().mset(List.of(key), List.of("v".getBytes()), disk));
        assertEquals(List.of(false), c.r().exist(List.of(key)));
        c.assertServe();
    }

    // ------------------------------------------------------------------ TTL

    @EveryTopology
    void keysWithATtlDisappearWithoutBeingReadAndTheirMemoryReturns(final Clients c)
    {
        final String small = c.key("ttl-small");
        final String big = c.key("ttl-big");
        final String expired = c.key("ttl-by-expire");
        final SetParam oneSecond = SetParam.builder().ttlSecond(1).writeMode(WriteMode.NONE_L2_CACHE_EVICT).build();
        c.w().set(small, "short-lived".getBytes(), oneSecond);
        c.w().set(big, randomBytes(7, 40 * MIB), oneSecond); // 40 of the pool's 64 MiB
        c.w().set(expired, "persistent".getBytes());
        assertEquals(List.of(), c.d().expire(List.of(expired), 1));
        assertEquals(List.of(true, true, true), c.r().exist(List.of(small, big, expired)));
        // an overwrite without TTL, and an expire(0), make a key persistent again
        final String rewritten = c.key("ttl-rewritten");
        final String cleared = c.key("ttl-cleared");
        final String extended = c.key("ttl-extended");
        c.w().set(rewritten, "1".getBytes(), oneSecond);
        c.w().set(rewritten, "2".getBytes());
        c.w().set(cleared, "3".getBytes(), oneSecond);
        assertEquals(List.of(), c.d().expire(List.of(cleared), 0));
        c.w().set(extended, "4".getBytes(), oneSecond);
        assertEquals(List.of(), c.d().expire(List.of(extended), 60));

        SystemTests.sleep(2300);
        assertEquals(List.of(true, true, true), c.r().exist(List.of(rewritten, cleared, extended)),
            "keys whose TTL was replaced expired anyway");
        assertArrayEquals("2".getBytes(), c.r().get(rewritten));
        assertEquals(List.of(), c.d().delete(List.of(rewritten, cleared, extended)));
        // nothing read the keys meanwhile; the 40 MiB must be back: another 40 MiB value fits only then
        final String next = c.key("after-ttl");
        c.w().set(next, randomBytes(8, 40 * MIB));
        assertEquals(List.of(false, false, false), c.r().exist(List.of(small, big, expired)));
        assertCode(StatusCode.NOT_FOUND, () -> c.r().get(small));
        assertCode(StatusCode.NOT_FOUND, () -> c.r().get(expired));
        c.d().delete(next);
        c.assertServe();
    }

    // ------------------------------------------------------------------ subscribe (get with subTimeoutMs)

    @EveryTopology
    void getWaitsForAKeySetLaterByAnotherClient(final Clients c) throws Exception
    {
        // 700 KiB is published through the pool (KV_CREATE + KV_PUBLISH), 10 bytes inline (KV_SET)
        waitForALaterSet(c, 700 * KIB);
        waitForALaterSet(c, 10);
    }

    private static void waitForALaterSet(final Clients c, final int size) throws Exception
    {
        final String key = c.key("later-" + size + "-" + System.nanoTime());
        final byte[] value = randomBytes(9, size);
        final CompletableFuture<Void> setter = CompletableFuture.runAsync(() ->
        {
            try (DsClient other = c.connectWritersWorker())
            {
                SystemTests.sleep(300);
                other.kv().set(key, value);
            }
        });
        final long start = System.nanoTime();
        final List<byte[]> got = c.r().get(List.of(key), 5000);
        final long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        setter.get(10, TimeUnit.SECONDS);
        assertArrayEquals(value, got.getFirst());
        assertTrue(elapsedMs >= 250 && elapsedMs < 2000, "returned after " + elapsedMs + " ms");
        c.d().delete(key);
    }

    @EveryTopology
    void getOfAKeyNeverSetFailsAfterTheTimeout(final Clients c)
    {
        final String key = c.key("never-" + System.nanoTime());
        final long start = System.nanoTime();
        assertCode(StatusCode.NOT_FOUND, () -> c.r().get(List.of(key), 800));
        final long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(elapsedMs >= 750 && elapsedMs < 3000, "NOT_FOUND after " + elapsedMs + " ms, timeout 800 ms");
        assertCode(StatusCode.INVALID, () -> c.r().get(List.of(key), -1));
        c.assertServe();
    }

    // ------------------------------------------------------------------ mcreate and msetBuffer

    @EveryTopology
    void mcreateFillAndMsetBufferRoundTrip(final Clients c)
    {
        final List<String> keys = List.of(c.key("mc-small"), c.key("mc-mid"),
            c.key("mc-big"), c.key("mc-empty"));
        final long[] sizes = {10, 600 * KIB, 2 * MIB + 3, 0};
        final List<WritableBuffer> buffers = c.w().mcreate(keys, sizes, SetParam.DEFAULT);
        assertEquals(4, buffers.size());
        for (int i = 0; i < keys.size(); i++)
        {
            assertEquals(keys.get(i), buffers.get(i).key());
            assertEquals(sizes[i], buffers.get(i).size());
            MemorySegment.copy(randomBytes(100 + i, (int) sizes[i]), 0, buffers.get(i).data(), ValueLayout.JAVA_BYTE,
                0, (int) sizes[i]);
        }
        assertEquals(List.of(false, false, false, false), c.r().exist(keys), "visible before msetBuffer");
        assertEquals(List.of(), c.w().msetBuffer(buffers));
        for (int i = 0; i < keys.size(); i++)
        {
            assertArrayEquals(randomBytes(100 + i, (int) sizes[i]), c.r().get(keys.get(i)), keys.get(i));
        }
        assertThrows(IllegalStateException.class, () -> buffers.getFirst().data());
        assertCode(StatusCode.INVALID, () -> c.w().msetBuffer(buffers));
        buffers.forEach(WritableBuffer::close);
        assertArrayEquals(randomBytes(102, (int) sizes[2]), c.r().get(keys.get(2)),
            "closing a published buffer must not free its value");
        assertCode(StatusCode.INVALID, () -> c.w().mcreate(List.of(c.key("mc-nx")), new long[] {4},
            SetParam.builder().existence(ExistenceOpt.NX).build()));
        assertCode(StatusCode.INVALID, () -> c.w().mcreate(List.of(c.key("mc-neg")),
            new long[] {-1}, SetParam.DEFAULT));
        assertEquals(List.of(), c.d().delete(keys));
        c.assertServe();
    }

    @EveryTopology
    void closingAnUnpublishedBufferGivesItsMemoryBack(final Clients c)
    {
        final String key = c.key("abandoned");
        for (int i = 0; i < 50; i++)
        {
            final List<WritableBuffer> buffers = c.w().mcreate(List.of(key), new long[] {8 * MIB},
                SetParam.DEFAULT);
            buffers.getFirst().data().set(ValueLayout.JAVA_BYTE, 8 * MIB - 1, (byte) i);
            buffers.getFirst().close();
        }
        assertEquals(List.of(false), c.r().exist(List.of(key)));
        // 50 x 8 MiB went through a 64 MiB pool: a large value still fits
        final byte[] value = randomBytes(11, 48 * MIB);
        c.w().set(key, value);
        assertArrayEquals(value, c.r().get(key));
        c.d().delete(key);
        c.assertServe();
    }
}
