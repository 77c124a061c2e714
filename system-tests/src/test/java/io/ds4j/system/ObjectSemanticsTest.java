package io.ds4j.system;

import io.ds4j.client.Buffer;
import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.CreateParam;
import io.ds4j.client.DsClient;
import io.ds4j.client.ObjectClient;
import io.ds4j.common.CacheType;
import io.ds4j.common.ConsistencyType;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.KIB;
import static io.ds4j.system.SystemTests.assertCode;
import static io.ds4j.system.SystemTests.assertServes;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Object semantics (spec §1.4) against one real worker, through shared memory (AUTO) and TCP (values inline):
 * buffers, publish and republish, seal, waiting gets, global references with deletion at 0, nested keys, remote
 * client ids, a closing client's references, and the status codes of bad input. After every error the same
 * client still does a round trip.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ObjectSemanticsTest
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

    private static ObjectClient objects(final Transport transport)
    {
        return CLIENTS.get(transport).object();
    }

    private static String key(final Transport transport, final String name)
    {
        return "obj-" + transport.name() + "-" + name;
    }

    private static byte[] bytesOf(final Buffer buffer)
    {
        return buffer.immutableData().toArray(ValueLayout.JAVA_BYTE);
    }

    private static boolean exists(final Transport transport, final String key)
    {
        return client(transport).kv().exist(List.of(key)).getFirst();
    }

    private static void closeAll(final List<Buffer> buffers)
    {
        buffers.stream().filter(b -> b != null).forEach(Buffer::close);
    }

    // ------------------------------------------------------------------ create, publish, get

    @BothTransports
    void createFillPublishAndGetAreByteExact(final Transport transport)
    {
        for (final int size : new int[] {0, 100, 600 * KIB})
        {
            final String key = key(transport, "exact-" + size);
            final byte[] value = randomBytes(size, size);
            try (Buffer buffer = objects(transport).create(key, size, CreateParam.DEFAULT))
            {
                assertEquals(size, buffer.size());
                assertEquals(transport == Transport.AUTO, buffer.isShared());
                buffer.memoryCopy(value);
                buffer.publish();
            }
            final List<Buffer> got = objects(transport).get(List.of(key), 0);
            try
            {
                assertArrayEquals(value, bytesOf(got.getFirst()));
                assertArrayEquals(value, client(transport).kv().get(key), "objects and KV share the key space");
            }
            finally
            {
                closeAll(got);
            }
        }
        final byte[] put = randomBytes(7, 900 * KIB);
        objects(transport).put(key(transport, "put-bb"), ByteBuffer.wrap(put), CreateParam.builder()
            .consistencyType(ConsistencyType.CAUSAL).build());
        objects(transport).put(key(transport, "put-small"), "small".getBytes(), CreateParam.DEFAULT);
        final List<Buffer> got = objects(transport).get(List.of(key(transport, "put-bb"),
            key(transport, "never-there"), key(transport, "put-small")), 0);
        try
        {
            assertArrayEquals(put, bytesOf(got.get(0)));
            assertNull(got.get(1));
            assertArrayEquals("small".getBytes(), bytesOf(got.get(2)));
        }
        finally
        {
            closeAll(got);
        }
    }

    @BothTransports
    void aBufferClosedBeforePublishingLeavesNothing(final Transport transport)
    {
        final String key = key(transport, "aborted");
        try (Buffer buffer = objects(transport).create(key, 1000, CreateParam.DEFAULT))
        {
            buffer.mutableData().fill((byte) 1);
        }
        assertCode(StatusCode.NOT_FOUND, () -> objects(transport).get(List.of(key), 0));
        assertServes(client(transport));
    }

    @BothTransports
    void republishMakesTheNewBytesVisibleAndAStaleBufferIsNotInUse(final Transport transport)
    {
        final String key = key(transport, "republish");
        final int size = 4 * KIB;
        try (Buffer writer = objects(transport).create(key, size, CreateParam.DEFAULT))
        {
            writer.mutableData().fill((byte) 'A');
            writer.publish();
            try (Buffer reader = objects(transport).get(List.of(key), 0).getFirst())
            {
                assertEquals('A', reader.immutableData().get(ValueLayout.JAVA_BYTE, size - 1));
                writer.mutableData().fill((byte) 'B');
                if (transport == Transport.AUTO)
                {
                    // PRAM through shared memory: the holder of the same object sees the bytes before any publish
                    assertEquals('B', reader.immutableData().get(ValueLayout.JAVA_BYTE, size - 1));
                }
                writer.publish();
            }
            try (Buffer again = objects(transport).get(List.of(key), 0).getFirst())
            {
                assertEquals('B', again.immutableData().get(ValueLayout.JAVA_BYTE, 0));
                // a buffer got by get() may publish too, as long as its object is the key's value
                again.mutableData().fill((byte) 'C');
                again.publish(List.of());
            }
            assertArrayEquals(filled(size, 'C'), client(transport).kv().get(key));

            // another object becomes the key's value: the old buffer is no longer in use
            objects(transport).put(key, "replaced".getBytes(), CreateParam.DEFAULT);
            assertCode(StatusCode.OC_OBJECT_NOT_IN_USED, writer::publish);
            assertArrayEquals("replaced".getBytes(), client(transport).kv().get(key));
        }
        assertServes(client(transport));
    }

    private static byte[] filled(final int size, final char c)
    {
        final byte[] bytes = new byte[size];
        java.util.Arrays.fill(bytes, (byte) c);
        return bytes;
    }

    @BothTransports
    void aSealedObjectCannotBeChanged(final Transport transport)
    {
        final String key = key(transport, "sealed");
        try (Buffer buffer = objects(transport).create(key, 64, CreateParam.DEFAULT))
        {
            buffer.memoryCopy("sealed bytes".getBytes());
            buffer.seal();
            assertTrue(buffer.isSealed());
            assertCode(StatusCode.OC_ALREADY_SEALED, buffer::mutableData);
            assertCode(StatusCode.OC_ALREADY_SEALED, () -> buffer.memoryCopy(new byte[1]));
            assertCode(StatusCode.OC_ALREADY_SEALED, buffer::publish);
            assertCode(StatusCode.OC_ALREADY_SEALED, buffer::seal);
            assertCode(StatusCode.OC_ALREADY_SEALED, () -> buffer.wLatch(0));
            buffer.rLatch(0);
            buffer.unRLatch();
            assertEquals('s', buffer.immutableData().get(ValueLayout.JAVA_BYTE, 0));
        }
        try (Buffer got = objects(transport).get(List.of(key), 0).getFirst())
        {
            assertTrue(got.isSealed(), "a get of a sealed object knows it is sealed");
            assertCode(StatusCode.OC_ALREADY_SEALED, got::mutableData);
            assertCode(StatusCode.OC_ALREADY_SEALED, () -> got.publish(List.of()));
            assertEquals('s', got.immutableData().get(ValueLayout.JAVA_BYTE, 0));
        }
        assertServes(client(transport));
    }

    @BothTransports
    void getWaitsForAnObjectPublishedLater(final Transport transport)
    {
        final String key = key(transport, "later");
        final byte[] value = randomBytes(11, 700 * KIB);
        final long start = System.nanoTime();
        final CompletableFuture<Void> producer = CompletableFuture.runAsync(() ->
        {
            SystemTests.sleep(300);
            try (Buffer buffer = objects(Transport.AUTO).create(key, value.length, CreateParam.DEFAULT))
            {
                buffer.memoryCopy(value);
                buffer.publish();
            }
        });
        final List<Buffer> got = objects(transport).get(List.of(key), 10_000);
        final long waitedMs = (System.nanoTime() - start) / 1_000_000;
        try
        {
            assertArrayEquals(value, bytesOf(got.getFirst()));
            assertTrue(waitedMs >= 250 && waitedMs < 9_000, "waited " + waitedMs + " ms");
        }
        finally
        {
            closeAll(got);
            producer.join();
        }
        final long before = System.nanoTime();
        assertCode(StatusCode.NOT_FOUND, () -> objects(transport).get(List.of(key(transport, "never")), 200));
        assertTrue((System.nanoTime() - before) / 1_000_000 >= 150, "a get with a timeout waits for it");
    }

    // ------------------------------------------------------------------ latches in one process

    @BothTransports
    void aWriteLatchKeepsReadersAndWritersOut(final Transport transport)
    {
        final String key = key(transport, "latch");
        objects(transport).put(key, new byte[64], CreateParam.DEFAULT);
        try (Buffer first = objects(transport).get(List.of(key), 0).getFirst())
        {
            first.wLatch(1000);
            first.mutableData().set(ValueLayout.JAVA_LONG, 0, 42);
            if (transport == Transport.AUTO)
            {
                // two buffers of the same object share the header's latch
                try (Buffer second = objects(transport).get(List.of(key), 0).getFirst())
                {
                    final long start = System.nanoTime();
                    final var e = assertCode(StatusCode.TRY_AGAIN, () -> second.rLatch(100));
                    assertTrue((System.nanoTime() - start) / 1_000_000 >= 90, "rLatch gave up before its timeout");
                    assertTrue(e.getMessage().contains("latch of " + key + " is held (writer token"), e.getMessage());
                    assertCode(StatusCode.TRY_AGAIN, () -> second.wLatch(0));
                    first.unWLatch();
                    second.rLatch(0);
                    first.rLatch(0);
                    assertCode(StatusCode.TRY_AGAIN, () -> second.wLatch(50));
                    first.unRLatch();
                    second.unRLatch();
                    second.wLatch(0);
                    second.unWLatch();
                }
            }
            else
            {
                // on a TCP buffer the latch is the buffer's own
                assertCode(StatusCode.TRY_AGAIN, () -> first.rLatch(20));
                first.unWLatch();
            }
            assertCode(StatusCode.INVALID, first::unWLatch);
            assertCode(StatusCode.INVALID, first::unRLatch);
            first.rLatch(0);
            // close gives back what the buffer still holds
        }
        try (Buffer after = objects(transport).get(List.of(key), 0).getFirst())
        {
            after.wLatch(0);
            after.unWLatch();
        }
        assertServes(client(transport));
    }

    // ------------------------------------------------------------------ global references

    @BothTransports
    void anObjectIsDeletedWhenItsLastHolderLetsGo(final Transport transport)
    {
        final ObjectClient objects = objects(transport);
        final String key = key(transport, "counted");
        objects.put(key, "counted".getBytes(), CreateParam.DEFAULT);
        assertEquals(0, objects.queryGlobalRefNum(key));
        assertEquals(List.of(), objects.gIncreaseRef(List.of(key)));
        assertEquals(List.of(), objects.gIncreaseRef(List.of(key, key)));
        assertEquals(1, objects.queryGlobalRefNum(key), "the count counts clients: this one counts once");
        assertEquals(List.of(), objects.gDecreaseRef(List.of(key, key)));
        assertEquals(1, objects.queryGlobalRefNum(key), "it still holds one of its three");
        assertTrue(exists(transport, key));
        assertEquals(List.of(), objects.gDecreaseRef(List.of(key)));
        assertFalse(exists(transport, key), "its last reference went: the object is deleted");
        assertEquals(0, objects.queryGlobalRefNum(key));
        assertCode(StatusCode.NOT_FOUND, () -> objects.get(List.of(key), 0));
        assertEquals(List.of(), objects.gDecreaseRef(List.of(key)), "a key that does not exist: not a failure");

        // as upstream, a reference may come before the object (seed 002 increases before it creates)
        final String later = key(transport, "counted-later");
        assertEquals(List.of(), objects.gIncreaseRef(List.of(later)));
        assertEquals(1, objects.queryGlobalRefNum(later));
        objects.put(later, "later".getBytes(), CreateParam.DEFAULT);
        assertEquals(1, objects.queryGlobalRefNum(later), "creating it keeps the count");
        assertEquals(List.of(), objects.gDecreaseRef(List.of(later)));
        assertFalse(exists(transport, later));

        // an existing key this client holds no reference on cannot be decreased
        final String other = key(transport, "counted-2");
        objects.put(other, new byte[10], CreateParam.DEFAULT);
        final var notHeld = assertCode(StatusCode.INVALID, () -> objects.gDecreaseRef(List.of(other)));
        assertTrue(notHeld.getMessage().contains("holds no global reference"), notHeld.getMessage());
        assertEquals(List.of(), objects.gIncreaseRef(List.of(other)));
        assertEquals(List.of(), objects.gDecreaseRef(List.of(other)));
        assertFalse(exists(transport, other));
        assertServes(client(transport));
    }

    @BothTransports
    void nestedKeysKeepChildrenAliveUntilTheParentGoes(final Transport transport)
    {
        final ObjectClient objects = objects(transport);
        final String parent = key(transport, "parent");
        final String child1 = key(transport, "child-1");
        final String child2 = key(transport, "child-2");
        objects.put(child1, "one".getBytes(), CreateParam.DEFAULT);
        objects.put(child2, "two".getBytes(), CreateParam.DEFAULT);

        // a missing child fails the publish and takes nothing
        try (Buffer buffer = objects.create(parent, 8, CreateParam.DEFAULT))
        {
            final var missing = assertCode(StatusCode.NOT_FOUND, () -> buffer.publish(List.of(child1,
                key(transport, "no-child"))));
            assertTrue(missing.getMessage().contains("no-child"), missing.getMessage());
            assertEquals(0, objects.queryGlobalRefNum(child1));
            // the buffer is still the client's: it can publish with the right keys
            buffer.publish(List.of(child1));
            buffer.publish(List.of(child1, child2)); // adds child2; child1 is not counted twice
        }
        assertEquals(1, objects.queryGlobalRefNum(child1));
        assertEquals(1, objects.queryGlobalRefNum(child2));

        // the child's own references come and go; the parent's reference keeps it
        objects.gIncreaseRef(List.of(child1));
        objects.gDecreaseRef(List.of(child1));
        assertTrue(exists(transport, child1));

        // the parent goes (here: a delete): its references go, and children at 0 are deleted with it
        objects.gIncreaseRef(List.of(child2));
        client(transport).kv().delete(parent);
        assertFalse(exists(transport, child1), "child1 had only the parent's reference");
        assertTrue(exists(transport, child2), "child2 still has its own reference");
        assertEquals(1, objects.queryGlobalRefNum(child2));
        objects.gDecreaseRef(List.of(child2));
        assertFalse(exists(transport, child2));

        // a cascade: grandparent -> parent -> child, released by the grandparent's count reaching 0
        objects.put(child1, "c".getBytes(), CreateParam.DEFAULT);
        objects.put(parent, "p".getBytes(), CreateParam.DEFAULT, List.of(child1));
        final String grandparent = key(transport, "grandparent");
        objects.put(grandparent, "g".getBytes(), CreateParam.DEFAULT, List.of(parent));
        objects.gIncreaseRef(List.of(grandparent));
        objects.gDecreaseRef(List.of(grandparent));
        assertEquals(List.of(false, false, false), client(transport).kv().exist(List.of(grandparent, parent,
            child1)));

        // replacing the parent with an object without nested keys releases the old one's references
        objects.put(child1, "c".getBytes(), CreateParam.DEFAULT);
        objects.gIncreaseRef(List.of(child1));
        objects.put(parent, "p1".getBytes(), CreateParam.DEFAULT, List.of(child1));
        assertEquals(2, objects.queryGlobalRefNum(child1));
        objects.put(parent, "p2".getBytes(), CreateParam.DEFAULT);
        assertEquals(1, objects.queryGlobalRefNum(child1));
        assertCode(StatusCode.INVALID, () -> objects.put(parent, new byte[1], CreateParam.DEFAULT, List.of(parent)));
        objects.gDecreaseRef(List.of(child1));
        client(transport).kv().delete(parent);
        assertServes(client(transport));
    }

    @BothTransports
    void remoteClientReferencesStayUntilReleased(final Transport transport)
    {
        final ObjectClient objects = objects(transport);
        final String a = key(transport, "remote-a");
        final String b = key(transport, "remote-b");
        objects.put(a, "a".getBytes(), CreateParam.DEFAULT);
        objects.put(b, "b".getBytes(), CreateParam.DEFAULT);
        final String remote = "elb-client-" + transport.name();
        assertEquals(List.of(), objects.gIncreaseRef(List.of(a, b), remote));
        assertEquals(List.of(), objects.gIncreaseRef(List.of(b)));
        assertEquals(2, objects.queryGlobalRefNum(b));
        // a remote holder's reference is its own: this client holds none on a
        assertCode(StatusCode.INVALID, () -> objects.gDecreaseRef(List.of(a)));
        objects.releaseGRefs(remote);
        assertFalse(exists(transport, a), "a had only the remote client's reference");
        assertTrue(exists(transport, b));
        assertEquals(1, objects.queryGlobalRefNum(b));
        objects.releaseGRefs(remote); // nothing left: fine
        objects.gDecreaseRef(List.of(b));
        assertFalse(exists(transport, b));
        assertCode(StatusCode.INVALID, () -> objects.releaseGRefs(""));
        assertCode(StatusCode.INVALID, () -> objects.gIncreaseRef(List.of(a), "bad id"));
        assertServes(client(transport));
    }

    @BothTransports
    void aClosingClientReleasesItsOwnReferencesButNotRemoteOnes(final Transport transport)
    {
        final String own = key(transport, "own-ref");
        final String remote = key(transport, "remote-ref");
        final String kept = key(transport, "kept-ref");
        objects(transport).put(own, "own".getBytes(), CreateParam.DEFAULT);
        objects(transport).put(remote, "remote".getBytes(), CreateParam.DEFAULT);
        objects(transport).put(kept, "kept".getBytes(), CreateParam.DEFAULT);
        objects(transport).gIncreaseRef(List.of(kept));
        try (DsClient other = SystemTests.connect(worker, transport))
        {
            other.object().gIncreaseRef(List.of(own, kept));
            other.object().gIncreaseRef(List.of(remote), "remote-of-" + transport.name());
        }
        // BYE ends the session at once; the worker releases its references while answering nothing
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (exists(transport, own) && System.nanoTime() < deadline)
        {
            SystemTests.sleep(20);
        }
        assertFalse(exists(transport, own), "the closed client's own reference was the last one");
        assertTrue(exists(transport, remote), "a remote client id's reference outlives the client");
        assertEquals(1, objects(transport).queryGlobalRefNum(remote));
        assertEquals(1, objects(transport).queryGlobalRefNum(kept));
        objects(transport).releaseGRefs("remote-of-" + transport.name());
        objects(transport).gDecreaseRef(List.of(kept));
        assertEquals(List.of(false, false), client(transport).kv().exist(List.of(remote, kept)));
    }

    // ------------------------------------------------------------------ bad input

    @BothTransports
    void badInputGetsTheUpstreamCodesAndTheWorkerKeepsServing(final Transport transport)
    {
        final ObjectClient objects = objects(transport);
        assertCode(StatusCode.INVALID, () -> objects.create("bad key", 10, CreateParam.DEFAULT));
        assertServes(client(transport));
        assertCode(StatusCode.INVALID, () -> objects.create(key(transport, "neg"), -1, CreateParam.DEFAULT));
        assertCode(StatusCode.NOT_SUPPORTED, () -> objects.create(key(transport, "disk"), 10,
            CreateParam.builder().cacheType(CacheType.DISK).build()));
        assertCode(StatusCode.NOT_SUPPORTED, () -> objects.put(key(transport, "disk"), new byte[1],
            CreateParam.builder().cacheType(CacheType.DISK).build()));
        assertCode(StatusCode.INVALID, () -> objects.put(key(transport, "nested-bad"), new byte[1],
            CreateParam.DEFAULT, List.of("bad/nested")));
        assertServes(client(transport));
        assertCode(StatusCode.INVALID, () -> objects.get(List.of(), 0));
        assertCode(StatusCode.INVALID, () -> objects.get(Collections.nCopies(10_001, "k"), 0));
        assertCode(StatusCode.INVALID, () -> objects.get(List.of("ok", "bad key"), 0)); // the worker checks
        assertCode(StatusCode.INVALID, () -> objects.get(List.of("k"), -1));
        assertCode(StatusCode.NOT_FOUND, () -> objects.get(List.of(key(transport, "none-1"),
            key(transport, "none-2")), 0));
        assertServes(client(transport));
        assertCode(StatusCode.INVALID, () -> objects.gIncreaseRef(List.of("bad key", "bad~key")));
        assertCode(StatusCode.INVALID, () -> objects.gIncreaseRef(Collections.nCopies(10_001, "k")));
        assertCode(StatusCode.INVALID, () -> objects.queryGlobalRefNum("bad key"));
        assertServes(client(transport));

        final String key = key(transport, "bad-buffer");
        final Buffer buffer = objects.create(key, 16, CreateParam.DEFAULT);
        assertCode(StatusCode.INVALID, () -> buffer.memoryCopy(new byte[17]));
        assertCode(StatusCode.INVALID, () -> buffer.wLatch(-1));
        assertCode(StatusCode.INVALID, buffer::unRLatch);
        buffer.publish();
        buffer.invalidateBuffer();
        assertCode(StatusCode.BUFFER_DEPRECATED, buffer::immutableData);
        assertCode(StatusCode.BUFFER_DEPRECATED, buffer::publish);
        assertCode(StatusCode.BUFFER_DEPRECATED, () -> buffer.rLatch(0));
        buffer.close();
        assertTrue(exists(transport, key), "invalidating a buffer leaves the object");
        client(transport).kv().delete(key);
        assertServes(client(transport));
    }

    private static RawChannel.Frame assertAnswered(final RawChannel channel, final long id, final StatusCode status,
        final String what)
    {
        final RawChannel.Outcome outcome = channel.read(5000);
        final RawChannel.Frame frame = assertInstanceOf(RawChannel.Frame.class, outcome, what + ": " + outcome);
        assertEquals(id, frame.correlationId(), what);
        assertEquals(status.value(), frame.status(), what + " (message: " + frame.errorMessage() + ")");
        return frame;
    }

    /** The worker's own checks, which the SDK mostly makes before sending: raw frames get the same codes. */
    @Test
    void theWorkerAnswersBadObjectRequestsWithStatusCodes()
    {
        objects(Transport.AUTO).put("obj-raw", new byte[4], CreateParam.DEFAULT);
        try (RawChannel channel = RawChannel.tcp(worker.host(), worker.port()))
        {
            assertInstanceOf(RawChannel.Frame.class, channel.hello());
            long id = channel.send(MessageType.OBJ_CREATE, w -> w.putByte(0).putByte(0).putString("obj-raw-c")
                .putLong(8));
            assertAnswered(channel, id, StatusCode.NOT_SUPPORTED, "OBJ_CREATE over TCP");
            id = channel.send(MessageType.OBJ_PUBLISH, w -> w.putString("obj-raw").putLong(123_456_789L).putByte(0)
                .putInt(0));
            assertAnswered(channel, id, StatusCode.BUFFER_DEPRECATED, "OBJ_PUBLISH of an unknown buffer");
            id = channel.send(MessageType.OBJ_PUT, w -> w.putByte(5).putByte(0).putByte(0).putLong(0)
                .putString("obj-raw-p").putInt(0).putBytes(new byte[1]));
            assertAnswered(channel, id, StatusCode.INVALID, "consistency type 5");
            id = channel.send(MessageType.OBJ_PUT, w -> w.putByte(0).putByte(1).putByte(0).putLong(0)
                .putString("obj-raw-p").putInt(0).putBytes(new byte[1]));
            assertAnswered(channel, id, StatusCode.NOT_SUPPORTED, "cache type DISK");
            id = channel.send(MessageType.OBJ_PUT, w ->
            {
                w.putByte(0).putByte(0).putByte(0).putLong(0).putString("obj-raw-p").putInt(10_001);
                for (int i = 0; i < 10_001; i++)
                {
                    w.putString("n" + i);
                }
                w.putBytes(new byte[1]);
            });
            assertAnswered(channel, id, StatusCode.INVALID, "10,001 nested keys");
            id = channel.send(MessageType.OBJ_PUT, w -> w.putByte(0).putByte(0).putByte(0).putLong(12_345)
                .putString("obj-raw-p").putInt(0).putBytes(new byte[1]));
            assertAnswered(channel, id, StatusCode.OC_OBJECT_NOT_IN_USED, "a republish of a version never current");
            id = channel.send(MessageType.OBJ_GET, w -> w.putLong(0).putInt(0));
            assertAnswered(channel, id, StatusCode.INVALID, "OBJ_GET of 0 keys");
            id = channel.send(MessageType.OBJ_INC_REF, w -> w.putString("bad id").putInt(1).putString("obj-raw"));
            assertAnswered(channel, id, StatusCode.INVALID, "a bad remote client id");
            id = channel.send(MessageType.OBJ_DEC_REF, w -> w.putString("").putInt(1).putString("obj-raw"));
            final RawChannel.Frame failed = assertAnswered(channel, id, StatusCode.OK, "OBJ_DEC_REF not held");
            assertEquals(1, failed.body().getInt(4), "the key is a failed item");
            id = channel.send(MessageType.OBJ_QUERY_REF, w -> w.putString("obj-raw-missing"));
            final RawChannel.Frame count = assertAnswered(channel, id, StatusCode.OK, "OBJ_QUERY_REF of a missing key");
            assertEquals(0, count.body().getLong(4), "a key nobody references counts 0, whether it exists or not");
            id = channel.send(MessageType.OBJ_RELEASE_REFS, w -> w.putString(""));
            assertAnswered(channel, id, StatusCode.INVALID, "OBJ_RELEASE_REFS without an id");
            id = channel.send(MessageType.LATCH_HELD, w -> w.putLong(1).putByte(9));
            assertAnswered(channel, id, StatusCode.INVALID, "latch kind 9");
            id = channel.send(MessageType.LATCH_HELD, w -> w.putLong(987_654L).putByte(1));
            assertAnswered(channel, id, StatusCode.OK, "LATCH_HELD of an allocation the session has no view of");
            channel.write(RawChannel.frame(MessageType.LATCH_RELEASED, FrameHeader.FLAG_NO_REPLY, 900,
                w -> w.putLong(987_654L).putByte(1)));
            id = channel.send(MessageType.HEARTBEAT, w -> { });
            assertAnswered(channel, id, StatusCode.OK, "no reply to a NO_REPLY latch notice, then HEARTBEAT");
        }
        assertEquals(List.of(false, false), client(Transport.AUTO).kv().exist(List.of("obj-raw-c", "obj-raw-p")));
        client(Transport.AUTO).kv().delete("obj-raw");
        assertServes(client(Transport.AUTO));
    }

    @Test
    void aKvKeyCanBeGotAsAnObjectAndRepublished()
    {
        final String key = "obj-kv-key";
        client(Transport.AUTO).kv().set(key, randomBytes(3, 800 * KIB));
        try (Buffer buffer = objects(Transport.AUTO).get(List.of(key), 0).getFirst())
        {
            assertTrue(buffer.isShared());
            buffer.mutableData().set(ValueLayout.JAVA_BYTE, 0, (byte) 77);
            buffer.publish();
        }
        assertEquals(77, client(Transport.TCP_INLINE).kv().get(key)[0]);
        client(Transport.AUTO).kv().delete(key);
    }

    @Test
    void manyBuffersOfOneObjectReadTheSameMemory()
    {
        final String key = "obj-many-views";
        objects(Transport.AUTO).put(key, MemorySegment.ofArray(randomBytes(9, 64 * KIB)), CreateParam.DEFAULT);
        final List<Buffer> views = new ArrayList<>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                views.addAll(objects(Transport.AUTO).get(List.of(key, key), 0));
            }
            views.getFirst().mutableData().set(ValueLayout.JAVA_LONG, 8, 0x1234_5678L);
            for (final Buffer view : views)
            {
                assertEquals(0x1234_5678L, view.immutableData().get(ValueLayout.JAVA_LONG, 8));
            }
        }
        finally
        {
            closeAll(views);
        }
        client(Transport.AUTO).kv().delete(key);
    }
}
