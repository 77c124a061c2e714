package io.ds4j.worker.object;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.worker.TestPools;
import io.ds4j.worker.eviction.S3FifoPolicy;
import io.ds4j.worker.kv.KvService;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.store.LocalCopies;
import io.ds4j.worker.server.ClientSession;
import io.ds4j.worker.server.SessionRegistry;
import io.ds4j.worker.store.SharedPool;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.TieredStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The object service over a real pool, wired as the worker wires it (the metadata owner tells the store, then the
 * object service): global reference counts per holder, deletion at 0, nested references and their cascade,
 * republish in place, seal, and what an ended session gives back.
 */
class ObjectServiceTest
{
    private static final String ME = ObjectService.sessionHolder(1);

    private SharedPool pool;
    private TieredStore store;
    private DataPlane data;
    private LocalCopies metadata;
    private ObjectService objects;
    private KvService kv;
    private long empty;

    @BeforeEach
    void open() throws IOException
    {
        pool = TestPools.create(16 << 20);
        store = new TieredStore(pool, null, null, null, new S3FifoPolicy<>(pool.capacity(),
            entry -> entry.key().hashCode()), false, 0.9, 0.8);
        data = DataPlane.standalone("127.0.0.1:1", store);
        metadata = data.copies();
        objects = new ObjectService(data);
        kv = new KvService(data);
        empty = pool.used();
    }

    @AfterEach
    void close()
    {
        data.close();
        store.close();
        pool.close();
    }

    private static void assertCode(final StatusCode code, final Executable call)
    {
        final DsException e = assertThrows(DsException.class, call);
        assertEquals(code, e.code(), e.getMessage());
    }

    private void put(final String key, final String value, final String... nested)
    {
        objects.put(key, MemorySegment.ofArray(value.getBytes()), ConsistencyType.PRAM, false, 0, List.of(nested));
    }

    private boolean exists(final String key)
    {
        return data.owner().exists(key);
    }

    @Test
    void aHolderCountsOnceAndTheKeyGoesWhenTheLastHolderLetsGo()
    {
        put("k", "v");
        assertEquals(0, objects.refCount("k"));
        objects.increaseRef("k", ME);
        objects.increaseRef("k", ME);
        objects.increaseRef("k", ObjectService.remoteHolder("elb-1"));
        assertEquals(2, objects.refCount("k"), "the count counts holders: one client increasing twice counts once");

        final DsException notHeld = assertThrows(DsException.class,
            () -> objects.decreaseRef("k", ObjectService.sessionHolder(2)));
        assertEquals(StatusCode.INVALID, notHeld.code());
        assertTrue(notHeld.getMessage().contains("client 2 holds no global reference on k"), notHeld.getMessage());

        objects.decreaseRef("k", ME);
        assertEquals(2, objects.refCount("k"), "the client still holds one of its two");
        objects.decreaseRef("k", ME);
        assertEquals(1, objects.refCount("k"));
        assertTrue(exists("k"), "the remote holder still has one");
        assertEquals(1, objects.releaseHolder(ObjectService.remoteHolder("elb-1")));
        assertFalse(exists("k"), "the last holder let go: deleted");
        assertEquals(0, objects.refCount("k"));
        objects.decreaseRef("k", ME); // a key that does not exist: not a failure (upstream)
        assertCode(StatusCode.INVALID, () -> objects.increaseRef("bad key", ME));
        assertEquals(0, owner().referencedKeys());
        assertEquals(empty, pool.used());
    }

    @Test
    void aReferenceMayComeBeforeTheObject()
    {
        objects.increaseRef("later", ME);
        assertEquals(1, objects.refCount("later"), "counted before the key exists");
        put("later", "v");
        assertEquals(1, objects.refCount("later"), "creating the object keeps the count");
        objects.decreaseRef("later", ME);
        assertFalse(exists("later"), "its only holder let go");
        assertEquals(empty, pool.used());
    }

    private io.ds4j.worker.meta.LocalMetadataOwner owner()
    {
        return (io.ds4j.worker.meta.LocalMetadataOwner) data.owner();
    }

    @Test
    void aKeyWithoutReferencesLivesUntilDeletedAndADeleteDropsItsCounts()
    {
        put("plain", "v");
        assertTrue(exists("plain"));
        objects.increaseRef("plain", ME);
        kv.delete("plain");
        assertEquals(0, owner().referencedKeys(), "a deleted key keeps no counts");
        put("plain", "again");
        assertEquals(0, objects.refCount("plain"), "a new object under the key starts at 0");
        assertCode(StatusCode.INVALID, () -> objects.decreaseRef("plain", ME));
        put("plain", "replaced keeps the key's counts");
        objects.increaseRef("plain", ME);
        put("plain", "replaced again");
        assertEquals(1, objects.refCount("plain"));
        objects.decreaseRef("plain", ME);
        assertFalse(exists("plain"));
    }

    @Test
    void nestedKeysHoldTheirChildrenAndCascade()
    {
        put("child", "c");
        put("other", "o");
        assertCode(StatusCode.NOT_FOUND, () -> put("parent", "p", "child", "missing"));
        assertEquals(0, objects.refCount("child"), "a failed publish takes nothing");
        assertFalse(exists("parent"));
        assertCode(StatusCode.INVALID, () -> put("parent", "p", "parent"));
        assertCode(StatusCode.INVALID, () -> put("parent", "p", "bad key"));

        put("parent", "p", "child", "child", "other");
        assertEquals(1, objects.refCount("child"), "duplicates count once");
        objects.increaseRef("other", ME);
        assertEquals(2, objects.refCount("other"));

        kv.delete("parent");
        assertFalse(exists("child"), "its only reference was the parent's");
        assertTrue(exists("other"));
        assertEquals(1, objects.refCount("other"));
        objects.decreaseRef("other", ME);
        assertFalse(exists("other"));
        assertEquals(empty, pool.used());
    }

    @Test
    void aLongNestedChainIsDeletedWithoutRecursingPerLevel()
    {
        final int depth = 2000;
        put("chain-0", "leaf");
        for (int i = 1; i < depth; i++)
        {
            put("chain-" + i, "node", "chain-" + (i - 1));
        }
        objects.increaseRef("chain-" + (depth - 1), ME);
        objects.decreaseRef("chain-" + (depth - 1), ME);
        assertEquals(0, metadata.size());
        assertEquals(0, owner().referencedKeys());
        assertEquals(empty, pool.used());
    }

    @Test
    void republishInPlaceKeepsTheObjectAndItsNestedReferences()
    {
        put("child-a", "a");
        put("child-b", "b");
        final StoredObject object = objects.create("obj", 64);
        object.data().fill((byte) 1);
        final long first = objects.publishCreated("obj", object, ConsistencyType.CAUSAL, false, List.of("child-a"));
        assertSame(object, metadata.current("obj").memory());
        assertEquals(ConsistencyType.CAUSAL, ((ObjectState) metadata.current("obj").attachment()).consistency());

        final long second = objects.republish("obj", object, false, List.of("child-a", "child-b"));
        assertTrue(second > first, "a republish is a new version");
        final StoreEntry current = metadata.current("obj");
        assertSame(object, current.memory(), "of the same allocation");
        assertEquals(second, current.version());
        assertEquals(ConsistencyType.CAUSAL, ((ObjectState) current.attachment()).consistency());
        assertEquals(1, objects.refCount("child-a"), "the nested reference moved on, it was not taken twice");
        assertEquals(1, objects.refCount("child-b"));

        objects.republish("obj", object, true, List.of());
        assertEquals(ObjectHeader.STATE_SEALED, ObjectHeader.state(pool.segment(), object.headerOffset()));
        assertTrue(((ObjectState) metadata.current("obj").attachment()).sealed());
        final long sealedVersion = metadata.current("obj").version();
        assertEquals(sealedVersion, objects.republish("obj", object, true, List.of("child-a")),
            "sealing again with nothing new is a no-op");
        assertCode(StatusCode.OC_ALREADY_SEALED, () -> objects.republish("obj", object, false, List.of()));
        assertCode(StatusCode.OC_ALREADY_SEALED, () -> objects.republish("obj", object, true, List.of("obj-x")));
        assertCode(StatusCode.OC_ALREADY_SEALED, () -> objects.put("obj", MemorySegment.ofArray(new byte[1]),
            ConsistencyType.PRAM, false, sealedVersion, List.of()));

        // the key gets another object: the old one is no longer in use, and its nested references go
        put("obj", "new");
        assertCode(StatusCode.OC_OBJECT_NOT_IN_USED, () -> objects.republish("obj", object, false, List.of()));
        assertCode(StatusCode.OC_OBJECT_NOT_IN_USED, () -> objects.put("obj", MemorySegment.ofArray(new byte[1]),
            ConsistencyType.PRAM, false, sealedVersion, List.of()));
        assertFalse(exists("child-a"));
        assertFalse(exists("child-b"));
        object.release(); // the creator's reference
        kv.delete("obj");
        assertEquals(empty, pool.used());
    }

    @Test
    void anInlineRepublishNeedsTheVersionItWasGotAs()
    {
        put("child", "c");
        final long v1 = objects.put("inline", MemorySegment.ofArray("one".getBytes()), ConsistencyType.PRAM, false, 0,
            List.of("child"));
        final long v2 = objects.put("inline", MemorySegment.ofArray("two".getBytes()), ConsistencyType.PRAM, false, v1,
            List.of());
        assertTrue(v2 > v1);
        assertEquals(1, objects.refCount("child"), "the nested reference moved to the new version");
        assertCode(StatusCode.OC_OBJECT_NOT_IN_USED, () -> objects.put("inline", MemorySegment.ofArray(new byte[1]),
            ConsistencyType.PRAM, false, v1, List.of()));
        kv.delete("inline");
        assertFalse(exists("child"));
    }

    @Test
    void anEndedSessionGivesBackItsLatchesAndItsOwnReferences()
    {
        final SessionRegistry registry = new SessionRegistry(10, 60, objects);
        final ClientSession session = registry.join(0, 4242, 0);
        final String holder = ObjectService.sessionHolder(session.clientId());
        put("mine", "m");
        put("shared", "s");
        objects.increaseRef("mine", holder);
        objects.increaseRef("shared", holder);
        objects.increaseRef("shared", ObjectService.remoteHolder("keeper"));

        // the client took the write latch of one view and two read latches of another
        final StoredObject written = store.read(metadata.current("shared")).pooled();
        session.pin(written);
        final StoredObject read = objects.create("latched-r", 8);
        objects.publishCreated("latched-r", read, ConsistencyType.PRAM, false, List.of());
        session.pin(read);
        final int token = ObjectHeader.latchToken(session.clientId());
        final MemorySegment segment = pool.segment();
        assertTrue(ObjectHeader.tryClaimWriter(segment, written.headerOffset(), token));
        session.latchChanged(written.allocationId(), ObjectHeader.LATCH_KIND_WRITE, 1);
        assertTrue(ObjectHeader.tryReadLatch(segment, read.headerOffset()));
        assertTrue(ObjectHeader.tryReadLatch(segment, read.headerOffset()));
        assertTrue(ObjectHeader.tryReadLatch(segment, read.headerOffset())); // another client's reader
        session.latchChanged(read.allocationId(), ObjectHeader.LATCH_KIND_READ, 1);
        session.latchChanged(read.allocationId(), ObjectHeader.LATCH_KIND_READ, 1);
        // a release that overtook its hold nets out
        session.latchChanged(read.allocationId(), ObjectHeader.LATCH_KIND_WRITE, -1);
        session.latchChanged(read.allocationId(), ObjectHeader.LATCH_KIND_WRITE, 1);
        assertEquals(2, session.latchHoldCount());

        registry.end(session, "said goodbye");
        assertEquals(0, ObjectHeader.latchWord(segment, written.headerOffset()));
        assertEquals(1, ObjectHeader.readerCount(ObjectHeader.latchWord(segment, read.headerOffset())),
            "only this client's two readers were taken off");
        assertFalse(exists("mine"), "its own reference was the last one");
        assertTrue(exists("shared"), "the remote client id's reference outlives the session");
        assertEquals(1, objects.refCount("shared"));
        session.latchChanged(read.allocationId(), ObjectHeader.LATCH_KIND_READ, 1);
        assertEquals(0, session.latchHoldCount(), "an ended session records no more latches");
    }

    @Test
    void expiryEndsTheKeyAndItsCounts() throws InterruptedException
    {
        put("parent", "p");
        put("child", "c");
        put("parent", "p", "child");
        objects.increaseRef("parent", ME);
        kv.expire("parent", 1);
        final long until = System.nanoTime() + 5_000_000_000L;
        while (exists("child") && System.nanoTime() < until)
        {
            Thread.sleep(20);
        }
        assertFalse(exists("parent"));
        assertFalse(exists("child"), "the parent's expiry released its nested reference");
        assertEquals(0, owner().referencedKeys());
    }

    @Test
    void concurrentIncreasesAndDecreasesBalance() throws Exception
    {
        put("hot", "h");
        objects.increaseRef("hot", ME);
        final int threads = 8;
        final int rounds = 2000;
        final CountDownLatch start = new CountDownLatch(1);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final String holder = ObjectService.remoteHolder("r" + t);
            workers.add(Thread.ofPlatform().start(() ->
            {
                try
                {
                    start.await();
                    for (int i = 0; i < rounds; i++)
                    {
                        objects.increaseRef("hot", holder);
                        objects.decreaseRef("hot", holder);
                    }
                }
                catch (final Throwable e)
                {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        start.countDown();
        for (final Thread worker : workers)
        {
            worker.join();
        }
        assertNull(failure.get());
        assertEquals(1, objects.refCount("hot"));
        objects.decreaseRef("hot", ME);
        assertFalse(exists("hot"));
    }

    @Test
    void aCreatedRegionThatFailsToPublishCanBePublishedAgain()
    {
        final StoredObject object = objects.create("retry", 16);
        assertCode(StatusCode.NOT_FOUND, () -> objects.publishCreated("retry", object, ConsistencyType.PRAM, false,
            List.of("absent")));
        assertFalse(exists("retry"));
        assertNotEquals(0, objects.publishCreated("retry", object, ConsistencyType.PRAM, false, List.of()));
        object.release();
        kv.delete("retry");
        assertEquals(empty, pool.used());
        assertCode(StatusCode.INVALID, () -> objects.create("bad key", 1));
        assertCode(StatusCode.INVALID, () -> objects.create("neg", -1));
    }
}
