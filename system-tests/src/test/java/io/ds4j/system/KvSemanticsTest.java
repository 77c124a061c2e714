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
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.KIB;
import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.assertCode;
import static io.ds4j.system.SystemTests.assertServes;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV semantics (spec §1.3, §1.8) against one real worker with a 64 MiB pool, through both transports: shared memory
 * (AUTO on this host) and TCP with values inline. Every error case checks the status code, then that the same
 * client still does a round trip.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KvSemanticsTest
{
    /** Runs a test once per transport. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @EnumSource(Transport.class)
    @interface BothTransports
    {
    }

    private static WorkerProcess worker;
    private static final Map<Transport, DsClient> CLIENTS = new EnumMap<>(Transport.class);

    @BeforeAll
    static void startWorker()
    {
        worker = WorkerProcess.start("shared_memory_size_mb", "64");
        for (final Transport transport : Transport.values())
        {
            CLIENTS.put(transport, SystemTests.connect(worker, transport));
        }
    }

    @AfterAll
    static void stopWorker()
    {
        CLIENTS.values().forEach(DsClient::close);
        CLIENTS.clear();
        if (worker != null)
        {
            worker.close();
        }
    }

    private static DsClient client(final Transport transport)
    {
        return CLIENTS.get(transport);
    }

    private static KvClient kv(final Transport transport)
    {
        return CLIENTS.get(transport).kv();
    }

    private static String key(final Transport transport, final String name)
    {
        return transport.name() + "-" + name;
    }

    // ------------------------------------------------------------------ transports

    @BothTransports
    void transportIsWhatWasAskedFor(final Transport transport)
    {
        assertEquals(transport == Transport.AUTO, client(transport).usesSharedMemory(),
            "AUTO on the worker's host must use shared memory; TCP_INLINE must not");
        assertEquals(worker.address(), client(transport).workerAddress());
    }

    // ------------------------------------------------------------------ set and get

    @BothTransports
    void setAndGetByteArray(final Transport transport)
    {
        final String key = key(transport, "bytes");
        final byte[] value = randomBytes(1, 777);
        kv(transport).set(key, value);
        assertArrayEquals(value, kv(transport).get(key));
        assertArrayEquals(value, kv(transport).get(List.of(key), 0).getFirst());
    }

    @BothTransports
    void setFromByteBufferStoresPositionToLimitAndLeavesTheBufferAlone(final Transport transport)
    {
        final byte[] all = randomBytes(2, 1000);
        final ByteBuffer heap = ByteBuffer.wrap(all).position(100).limit(350);
        kv(transport).set(key(transport, "heap-bb"), heap);
        assertArrayEquals(Arrays.copyOfRange(all, 100, 350), kv(transport).get(key(transport, "heap-bb")));
        assertEquals(100, heap.position());
        assertEquals(350, heap.limit());

        final byte[] big = randomBytes(3, 600 * KIB);
        final ByteBuffer direct = ByteBuffer.allocateDirect(big.length + 20);
        direct.position(10);
        direct.put(big);
        direct.position(10).limit(10 + big.length);
        kv(transport).set(key(transport, "direct-bb"), direct, SetParam.DEFAULT);
        assertArrayEquals(big, kv(transport).get(key(transport, "direct-bb")));
        assertEquals(10, direct.position());
        kv(transport).delete(List.of(key(transport, "heap-bb"), key(transport, "direct-bb")));
    }

    @BothTransports
    void getIntoTheCallersSegmentCopiesAndReturnsTheSize(final Transport transport)
    {
        final KvClient kv = kv(transport);
        final byte[] big = randomBytes(77, 2 * MIB);
        final byte[] small = randomBytes(78, 300);
        kv.set(key(transport, "into-big"), big);
        kv.set(key(transport, "into-small"), small);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined())
        {
            final java.lang.foreign.MemorySegment target = arena.allocate(4 * MIB);
            assertEquals(big.length, kv.get(key(transport, "into-big"), target));
            assertArrayEquals(big, target.asSlice(0, big.length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            assertEquals(small.length, kv.get(key(transport, "into-small"), target));
            assertArrayEquals(small, target.asSlice(0, small.length)
                .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            final io.ds4j.common.DsException tooSmall = assertCode(StatusCode.INVALID,
                () -> kv.get(key(transport, "into-big"), arena.allocate(MIB)));
            assertTrue(tooSmall.getMessage().contains(String.valueOf(big.length)), tooSmall.getMessage());
            assertCode(StatusCode.NOT_FOUND, () -> kv.get(key(transport, "into-missing"), target));
        }
        assertServes(client(transport));
    }

    @BothTransports
    void setFromMemorySegment(final Transport transport)
    {
        for (final int size : new int[] {5, 700 * KIB})
        {
            final byte[] value = randomBytes(size, size);
            try (Arena arena = Arena.ofConfined())
            {
                final MemorySegment outer = arena.allocate(size + 64);
                MemorySegment.copy(value, 0, outer, ValueLayout.JAVA_BYTE, 32, size);
                kv(transport).set(key(transport, "segment-" + size), outer.asSlice(32, size));
            }
            assertArrayEquals(value, kv(transport).get(key(transport, "segment-" + size)));
            kv(transport).delete(key(transport, "segment-" + size));
        }
    }

    @BothTransports
    void overwriteGivesTheNewValue(final Transport transport)
    {
        final String key = key(transport, "overwrite");
        kv(transport).set(key, "first".getBytes());
        kv(transport).set(key, "second value".getBytes());
        assertArrayEquals("second value".getBytes(), kv(transport).get(key));
        final byte[] big = randomBytes(4, 900 * KIB);
        kv(transport).set(key, big);
        assertArrayEquals(big, kv(transport).get(key));
        kv(transport).set(key, new byte[] {9});
        assertArrayEquals(new byte[] {9}, kv(transport).get(key));
    }

    @BothTransports
    void nxKeepsTheOldValueAndSucceeds(final Transport transport)
    {
        final SetParam nx = SetParam.builder().existence(ExistenceOpt.NX).build();
        final String key = key(transport, "nx");
        kv(transport).delete(key);
        kv(transport).set(key, "old".getBytes(), nx); // NX on a missing key creates it
        assertArrayEquals("old".getBytes(), kv(transport).get(key));
        kv(transport).set(key, "new".getBytes(), nx);
        assertArrayEquals("old".getBytes(), kv(transport).get(key));
        kv(transport).set(key, randomBytes(5, 800 * KIB), nx); // above the inline threshold too
        assertArrayEquals("old".getBytes(), kv(transport).get(key));
        assertEquals(List.of(), kv(transport).mset(List.of(key, key(transport, "nx-2")),
            List.of("m1".getBytes(), "m2".getBytes()), nx));
        assertArrayEquals("old".getBytes(), kv(transport).get(key));
        assertArrayEquals("m2".getBytes(), kv(transport).get(key(transport, "nx-2")));
    }

    @BothTransports
    void getOfAMissingKeyIsNotFound(final Transport transport)
    {
        assertCode(StatusCode.NOT_FOUND, () -> kv(transport).get(key(transport, "never-set")));
        assertServes(client(transport));
    }

    @BothTransports
    void batchGetAlignsNullsWithMissingKeysAndFailsOnlyWhenAllAreMissing(final Transport transport)
    {
        kv(transport).set(key(transport, "have-1"), "one".getBytes());
        kv(transport).set(key(transport, "have-2"), "two".getBytes());
        final List<byte[]> values = kv(transport).get(List.of(key(transport, "missing-1"), key(transport, "have-1"),
            key(transport, "missing-2"), key(transport, "have-2")), 0);
        assertEquals(4, values.size());
        assertNull(values.get(0));
        assertArrayEquals("one".getBytes(), values.get(1));
        assertNull(values.get(2));
        assertArrayEquals("two".getBytes(), values.get(3));

        assertCode(StatusCode.NOT_FOUND, () -> kv(transport).get(List.of(key(transport, "missing-1"),
            key(transport, "missing-2")), 0));
        assertServes(client(transport));
    }

    // ------------------------------------------------------------------ batches that return failed keys

    @BothTransports
    void msetReturnsTheFailedKeysAndStoresTheOthers(final Transport transport)
    {
        final String good1 = key(transport, "mset-1");
        final String good2 = key(transport, "mset-2");
        final String bad = "bad/key"; // not checked by the SDK for mset: the worker rejects it per key
        final List<String> failed = kv(transport).mset(List.of(good1, bad, good2),
            List.of("a".getBytes(), "b".getBytes(), "c".getBytes()), SetParam.DEFAULT);
        assertEquals(List.of(bad), failed);
        assertArrayEquals("a".getBytes(), kv(transport).get(good1));
        assertArrayEquals("c".getBytes(), kv(transport).get(good2));

        assertCode(StatusCode.INVALID, () -> kv(transport).mset(List.of("bad key", "bad~key"),
            List.of("x".getBytes(), "y".getBytes()), SetParam.DEFAULT));
        assertCode(StatusCode.INVALID, () -> kv(transport).mset(List.of(good1, good2), List.of("x".getBytes()),
            SetParam.DEFAULT));
        assertServes(client(transport));
    }

    @BothTransports
    void deleteOfAMissingKeyIsNotAFailure(final Transport transport)
    {
        final String key = key(transport, "to-delete");
        kv(transport).set(key, "v".getBytes());
        assertEquals(List.of(), kv(transport).delete(List.of(key, key(transport, "never-there"))));
        assertEquals(List.of(false), kv(transport).exist(List.of(key)));
        assertEquals(List.of(), kv(transport).delete(List.of(key)));
        kv(transport).delete(key);
        assertCode(StatusCode.NOT_FOUND, () -> kv(transport).get(key));

        kv(transport).set(key, "v".getBytes());
        assertEquals(List.of("bad key"), kv(transport).delete(List.of(key, "bad key")));
        assertEquals(List.of(false), kv(transport).exist(List.of(key)));
        assertServes(client(transport));
    }

    @BothTransports
    void expireOfAMissingKeyIsAFailedKeyWithNotFound(final Transport transport)
    {
        final String key = key(transport, "expire-present");
        kv(transport).set(key, "v".getBytes());
        assertEquals(List.of(key(transport, "expire-missing")),
            kv(transport).expire(List.of(key, key(transport, "expire-missing")), 100));
        assertCode(StatusCode.NOT_FOUND, () -> kv(transport).expire(List.of(key(transport, "expire-missing")), 5));
        assertCode(StatusCode.INVALID, () -> kv(transport).expire(List.of(key), -1));
        assertEquals(List.of(), kv(transport).expire(List.of(key), 0)); // 0 clears the TTL
        assertArrayEquals("v".getBytes(), kv(transport).get(key));
        assertServes(client(transport));
    }

    @BothTransports
    void existIsAlignedWithTheKeys(final Transport transport)
    {
        kv(transport).set(key(transport, "exists"), new byte[0]);
        assertEquals(List.of(true, false, true), kv(transport).exist(List.of(key(transport, "exists"),
            key(transport, "exists-not"), key(transport, "exists"))));
        assertCode(StatusCode.INVALID, () -> kv(transport).exist(List.of(key(transport, "exists"), "bad key")));
        assertServes(client(transport));
    }

    @BothTransports
    void setValueAndGenerateKey(final Transport transport)
    {
        final byte[] value = randomBytes(6, 321);
        final String generated = kv(transport).setValue(value, SetParam.DEFAULT);
        assertTrue(KeyRules.isValid(generated), generated);
        assertArrayEquals(value, kv(transport).get(generated));

        final String a = kv(transport).generateKey("pfx:");
        final String b = kv(transport).generateKey("pfx:");
        assertTrue(a.startsWith("pfx:") && b.startsWith("pfx:"), a + " " + b);
        assertNotEquals(a, b);
        assertTrue(KeyRules.isValid(a), a);
        assertNotEquals(kv(transport).generateKey(""), kv(transport).generateKey(""));
        assertCode(StatusCode.INVALID, () -> kv(transport).generateKey("bad/prefix"));
    }

    // ------------------------------------------------------------------ keys

    @BothTransports
    void keysWithEveryAllowedPunctuationWork(final Transport transport)
    {
        final List<String> keys = List.of(key(transport, "req-42:0_1"), key(transport, "a@b;c"),
            key(transport, ".-_!@#%^*()+=:;"), key(transport, "UPPER.lower.0123456789"));
        for (final String key : keys)
        {
            kv(transport).set(key, key.getBytes());
        }
        for (final String key : keys)
        {
            assertArrayEquals(key.getBytes(), kv(transport).get(key), key);
        }
        assertEquals(List.of(true, true, true, true), kv(transport).exist(keys));
        assertEquals(List.of(), kv(transport).delete(keys));
    }

    @BothTransports
    void keyLengthLimitIs1024(final Transport transport)
    {
        final String longest = "k".repeat(1024);
        kv(transport).set(longest, "x".getBytes());
        assertArrayEquals("x".getBytes(), kv(transport).get(longest));
        assertEquals(List.of(true), kv(transport).exist(List.of(longest)));
        assertEquals(List.of(), kv(transport).delete(List.of(longest)));

        final String tooLong = "k".repeat(1025);
        assertCode(StatusCode.INVALID, () -> kv(transport).set(tooLong, "x".getBytes()));
        assertCode(StatusCode.INVALID, () -> kv(transport).get(tooLong));
        // mset does not check keys in the SDK: the worker must
        assertEquals(List.of(tooLong), kv(transport).mset(List.of(key(transport, "len-ok"), tooLong),
            List.of("a".getBytes(), "b".getBytes()), SetParam.DEFAULT));
        assertCode(StatusCode.INVALID, () -> kv(transport).set("", "x".getBytes()));
        assertServes(client(transport));
    }

    @BothTransports
    void keysWithForbiddenCharactersAreInvalid(final Transport transport)
    {
        for (final String bad : List.of("a/b", "a b", "a~b", "caf\u00e9", "\u952e", "a$b", "a&b", "tab\tkey",
            "new\nline"))
        {
            assertCode(StatusCode.INVALID, () -> kv(transport).set(bad, "x".getBytes()));
            assertCode(StatusCode.INVALID, () -> kv(transport).get(bad));
            assertCode(StatusCode.INVALID, () -> kv(transport).get(List.of(bad), 0));
            assertCode(StatusCode.INVALID, () -> kv(transport).mset(List.of(bad), List.of("x".getBytes()),
                SetParam.DEFAULT));
            assertCode(StatusCode.INVALID, () -> kv(transport).mcreate(List.of(bad), new long[] {4},
                SetParam.DEFAULT));
            assertCode(StatusCode.INVALID, () -> kv(transport).exist(List.of(bad)));
        }
        assertServes(client(transport));
    }

    // ------------------------------------------------------------------ batch limits

    private static List<String> keys(final Transport transport, final String prefix, final int count)
    {
        final List<String> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            keys.add(key(transport, prefix + i));
        }
        return keys;
    }

    @BothTransports
    void msetAndMcreateHoldFewerThan2000Keys(final Transport transport)
    {
        final List<String> keys = keys(transport, "batch-", 2000);
        final List<byte[]> values = new ArrayList<>(Collections.nCopies(2000, "v".getBytes()));
        assertCode(StatusCode.INVALID, () -> kv(transport).mset(keys, values, SetParam.DEFAULT));
        assertCode(StatusCode.INVALID, () -> kv(transport).mcreate(keys, new long[2000], SetParam.DEFAULT));
        assertEquals(List.of(false), kv(transport).exist(List.of(keys.getFirst())));
        assertServes(client(transport));

        assertEquals(List.of(), kv(transport).mset(keys.subList(0, 1999), values.subList(0, 1999),
            SetParam.DEFAULT));
        assertEquals(Collections.nCopies(1999, true), kv(transport).exist(keys.subList(0, 1999)));
        assertEquals(List.of(), kv(transport).delete(keys.subList(0, 1999)));
    }

    @BothTransports
    void readBatchesHoldAtMost10000Keys(final Transport transport)
    {
        final List<String> keys = keys(transport, "read-", 10_001);
        final List<byte[]> values = new ArrayList<>(Collections.nCopies(1999, "v".getBytes()));
        assertEquals(List.of(), kv(transport).mset(keys.subList(0, 1999), values, SetParam.DEFAULT));

        assertCode(StatusCode.INVALID, () -> kv(transport).get(keys, 0));
        assertCode(StatusCode.INVALID, () -> kv(transport).getBuffers(keys, 0));
        assertCode(StatusCode.INVALID, () -> kv(transport).exist(keys));
        assertCode(StatusCode.INVALID, () -> kv(transport).delete(keys));
        assertCode(StatusCode.INVALID, () -> kv(transport).expire(keys, 10));
        assertEquals(List.of(true), kv(transport).exist(List.of(keys.getFirst())), "a refused delete deleted");
        assertServes(client(transport));

        final List<String> most = keys.subList(0, 10_000);
        final List<byte[]> got = kv(transport).get(most, 0);
        assertEquals(10_000, got.size());
        assertArrayEquals("v".getBytes(), got.get(1998));
        assertNull(got.get(1999));
        final List<Boolean> exist = kv(transport).exist(most);
        assertEquals(10_000, exist.size());
        assertTrue(exist.get(0));
        assertFalse(exist.get(9999));
        assertEquals(8001, kv(transport).expire(most, 100).size());
        assertEquals(List.of(), kv(transport).delete(most));
        assertEquals(List.of(false), kv(transport).exist(List.of(keys.getFirst())));
    }

    // ------------------------------------------------------------------ values

    @BothTransports
    void valuesOfEverySizeRoundTripByteExact(final Transport transport)
    {
        final int[] sizes = {0, 1, 63, 64, 65, 4095, 16 * KIB + 1, 499 * KIB, 500 * KIB - 1, 500 * KIB,
            500 * KIB + 1, 501 * KIB, 3 * MIB + 7, 8 * MIB};
        for (final int size : sizes)
        {
            final String key = key(transport, "size-" + size);
            final byte[] value = randomBytes(1000L + size, size);
            kv(transport).set(key, value);
            assertArrayEquals(value, kv(transport).get(key), "get of " + size + " bytes");
            assertArrayEquals(value, kv(transport).get(List.of(key), 0).getFirst(), "batch get of " + size);
            try (ReadOnlyBuffer view = kv(transport).getBuffers(List.of(key), 0).getFirst())
            {
                assertEquals(size, view.size());
                assertArrayEquals(value, view.toByteArray(), "getBuffers of " + size + " bytes");
                assertEquals(transport == Transport.AUTO, view.isZeroCopy());
            }
            kv(transport).delete(key);
        }
    }

    @BothTransports
    void valueLargerThanThePoolIsOutOfMemory(final Transport transport)
    {
        final byte[] huge = new byte[65 * MIB];
        final String key = key(transport, "huge");
        assertCode(StatusCode.OUT_OF_MEMORY, () -> kv(transport).set(key, huge));
        assertEquals(List.of(false), kv(transport).exist(List.of(key)));
        assertServes(client(transport));
    }

    @BothTransports
    void diskCacheTypeIsNotSupportedYet(final Transport transport)
    {
        final SetParam disk = SetParam.builder().cacheType(CacheType.DISK).build();
        final String key = key(transport, "disk");
        assertCode(StatusCode.NOT_SUPPORTED, () -> kv(transport).set(key, "v".getBytes(), disk));
        assertCode(StatusCode.NOT_SUPPORTED, () -> kv(transport).set(key, new byte[600 * KIB], disk));
        assertCode(StatusCode.NOT_SUPPORTED, () -> kv(transport).mset(List.of(key), List.of("v".getBytes()), disk));
        assertEquals(List.of(false), kv(transport).exist(List.of(key)));
        assertServes(client(transport));
    }

    // ------------------------------------------------------------------ TTL

    @BothTransports
    void keysWithATtlDisappearWithoutBeingReadAndTheirMemoryReturns(final Transport transport)
    {
        final String small = key(transport, "ttl-small");
        final String big = key(transport, "ttl-big");
        final String expired = key(transport, "ttl-by-expire");
        final SetParam oneSecond = SetParam.builder().ttlSecond(1).writeMode(WriteMode.NONE_L2_CACHE_EVICT).build();
        kv(transport).set(small, "short-lived".getBytes(), oneSecond);
        kv(transport).set(big, randomBytes(7, 40 * MIB), oneSecond); // 40 of the pool's 64 MiB
        kv(transport).set(expired, "persistent".getBytes());
        assertEquals(List.of(), kv(transport).expire(List.of(expired), 1));
        assertEquals(List.of(true, true, true), kv(transport).exist(List.of(small, big, expired)));
        // an overwrite without TTL, and an expire(0), make a key persistent again
        final String rewritten = key(transport, "ttl-rewritten");
        final String cleared = key(transport, "ttl-cleared");
        final String extended = key(transport, "ttl-extended");
        kv(transport).set(rewritten, "1".getBytes(), oneSecond);
        kv(transport).set(rewritten, "2".getBytes());
        kv(transport).set(cleared, "3".getBytes(), oneSecond);
        assertEquals(List.of(), kv(transport).expire(List.of(cleared), 0));
        kv(transport).set(extended, "4".getBytes(), oneSecond);
        assertEquals(List.of(), kv(transport).expire(List.of(extended), 60));

        SystemTests.sleep(2300);
        assertEquals(List.of(true, true, true), kv(transport).exist(List.of(rewritten, cleared, extended)),
            "keys whose TTL was replaced expired anyway");
        assertArrayEquals("2".getBytes(), kv(transport).get(rewritten));
        assertEquals(List.of(), kv(transport).delete(List.of(rewritten, cleared, extended)));
        // nothing read the keys meanwhile; the 40 MiB must be back: another 40 MiB value fits only then
        final String next = key(transport, "after-ttl");
        kv(transport).set(next, randomBytes(8, 40 * MIB));
        assertEquals(List.of(false, false, false), kv(transport).exist(List.of(small, big, expired)));
        assertCode(StatusCode.NOT_FOUND, () -> kv(transport).get(small));
        assertCode(StatusCode.NOT_FOUND, () -> kv(transport).get(expired));
        kv(transport).delete(next);
        assertServes(client(transport));
    }

    // ------------------------------------------------------------------ subscribe (get with subTimeoutMs)

    @BothTransports
    void getWaitsForAKeySetLaterByAnotherClient(final Transport transport) throws Exception
    {
        // 700 KiB is published through the pool (KV_CREATE + KV_PUBLISH), 10 bytes inline (KV_SET)
        waitForALaterSet(transport, 700 * KIB);
        waitForALaterSet(transport, 10);
    }

    private static void waitForALaterSet(final Transport transport, final int size) throws Exception
    {
        final String key = key(transport, "later-" + size + "-" + System.nanoTime());
        final byte[] value = randomBytes(9, size);
        final CompletableFuture<Void> setter = CompletableFuture.runAsync(() ->
        {
            try (DsClient other = SystemTests.connect(worker, Transport.AUTO))
            {
                SystemTests.sleep(300);
                other.kv().set(key, value);
            }
        });
        final long start = System.nanoTime();
        final List<byte[]> got = kv(transport).get(List.of(key), 5000);
        final long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        setter.get(10, TimeUnit.SECONDS);
        assertArrayEquals(value, got.getFirst());
        assertTrue(elapsedMs >= 250 && elapsedMs < 2000, "returned after " + elapsedMs + " ms");
        kv(transport).delete(key);
    }

    @BothTransports
    void getOfAKeyNeverSetFailsAfterTheTimeout(final Transport transport)
    {
        final String key = key(transport, "never-" + System.nanoTime());
        final long start = System.nanoTime();
        assertCode(StatusCode.NOT_FOUND, () -> kv(transport).get(List.of(key), 800));
        final long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(elapsedMs >= 750 && elapsedMs < 3000, "NOT_FOUND after " + elapsedMs + " ms, timeout 800 ms");
        assertCode(StatusCode.INVALID, () -> kv(transport).get(List.of(key), -1));
        assertServes(client(transport));
    }

    // ------------------------------------------------------------------ mcreate and msetBuffer

    @BothTransports
    void mcreateFillAndMsetBufferRoundTrip(final Transport transport)
    {
        final List<String> keys = List.of(key(transport, "mc-small"), key(transport, "mc-mid"),
            key(transport, "mc-big"), key(transport, "mc-empty"));
        final long[] sizes = {10, 600 * KIB, 2 * MIB + 3, 0};
        final List<WritableBuffer> buffers = kv(transport).mcreate(keys, sizes, SetParam.DEFAULT);
        assertEquals(4, buffers.size());
        for (int i = 0; i < keys.size(); i++)
        {
            assertEquals(keys.get(i), buffers.get(i).key());
            assertEquals(sizes[i], buffers.get(i).size());
            MemorySegment.copy(randomBytes(100 + i, (int) sizes[i]), 0, buffers.get(i).data(), ValueLayout.JAVA_BYTE,
                0, (int) sizes[i]);
        }
        assertEquals(List.of(false, false, false, false), kv(transport).exist(keys), "visible before msetBuffer");
        assertEquals(List.of(), kv(transport).msetBuffer(buffers));
        for (int i = 0; i < keys.size(); i++)
        {
            assertArrayEquals(randomBytes(100 + i, (int) sizes[i]), kv(transport).get(keys.get(i)), keys.get(i));
        }
        assertThrows(IllegalStateException.class, () -> buffers.getFirst().data());
        assertCode(StatusCode.INVALID, () -> kv(transport).msetBuffer(buffers));
        buffers.forEach(WritableBuffer::close);
        assertArrayEquals(randomBytes(102, (int) sizes[2]), kv(transport).get(keys.get(2)),
            "closing a published buffer must not free its value");
        assertCode(StatusCode.INVALID, () -> kv(transport).mcreate(List.of(key(transport, "mc-nx")), new long[] {4},
            SetParam.builder().existence(ExistenceOpt.NX).build()));
        assertCode(StatusCode.INVALID, () -> kv(transport).mcreate(List.of(key(transport, "mc-neg")),
            new long[] {-1}, SetParam.DEFAULT));
        assertEquals(List.of(), kv(transport).delete(keys));
        assertServes(client(transport));
    }

    @BothTransports
    void closingAnUnpublishedBufferGivesItsMemoryBack(final Transport transport)
    {
        final String key = key(transport, "abandoned");
        for (int i = 0; i < 50; i++)
        {
            final List<WritableBuffer> buffers = kv(transport).mcreate(List.of(key), new long[] {8 * MIB},
                SetParam.DEFAULT);
            buffers.getFirst().data().set(ValueLayout.JAVA_BYTE, 8 * MIB - 1, (byte) i);
            buffers.getFirst().close();
        }
        assertEquals(List.of(false), kv(transport).exist(List.of(key)));
        // 50 x 8 MiB went through a 64 MiB pool: a large value still fits
        final byte[] value = randomBytes(11, 48 * MIB);
        kv(transport).set(key, value);
        assertArrayEquals(value, kv(transport).get(key));
        kv(transport).delete(key);
        assertServes(client(transport));
    }
}
