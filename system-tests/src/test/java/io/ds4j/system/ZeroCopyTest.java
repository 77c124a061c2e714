package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.KIB;
import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.assertCode;
import static io.ds4j.system.SystemTests.assertServes;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Zero-copy views (getBuffers through shared memory) on a 64 MiB pool: a view is read in place, stays valid and
 * unchanged while the key is deleted or overwritten, and its memory is not reused until it is closed. Eviction is not
 * implemented yet, so a full pool answers OUT_OF_MEMORY.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ZeroCopyTest
{
    private static WorkerProcess worker;
    private static DsClient client;
    private static KvClient kv;
    private final List<String> written = new ArrayList<>();

    @BeforeAll
    static void startWorker()
    {
        worker = WorkerProcess.start("shared_memory_size_mb", "64");
        client = SystemTests.connect(worker, Transport.AUTO);
        kv = client.kv();
        assertTrue(client.usesSharedMemory());
    }

    @AfterAll
    static void stopWorker()
    {
        if (client != null)
        {
            client.close();
        }
        if (worker != null)
        {
            worker.close();
        }
    }

    /** Every test leaves the pool empty for the next. */
    @AfterEach
    void deleteKeys()
    {
        for (int i = 0; i < written.size(); i += 10_000)
        {
            kv.delete(written.subList(i, Math.min(written.size(), i + 10_000)));
        }
        written.clear();
    }

    private void set(final String key, final byte[] value)
    {
        written.add(key);
        kv.set(key, value, SetParam.builder().writeMode(WriteMode.NONE_L2_CACHE_EVICT).build());
    }

    /** A value the worker must keep (NONE_L2_CACHE): never dropped, so a full pool refuses new ones. */
    private void keep(final String key, final byte[] value)
    {
        written.add(key);
        kv.set(key, value, SetParam.DEFAULT);
    }

    private static ReadOnlyBuffer view(final String key)
    {
        final ReadOnlyBuffer view = kv.getBuffers(List.of(key), 0).getFirst();
        assertTrue(view.isZeroCopy(), "a local client's getBuffers must be zero copy");
        return view;
    }

    @Test
    void getBuffersReadsInPlaceForSmallAndLargeValues()
    {
        for (final int size : new int[] {1, 100, 600 * KIB, 4 * MIB})
        {
            final byte[] value = randomBytes(size, size);
            set("zc-" + size, value);
            try (ReadOnlyBuffer view = view("zc-" + size))
            {
                assertEquals("zc-" + size, view.key());
                assertEquals(size, view.size());
                assertEquals(size, view.data().byteSize());
                assertTrue(view.data().isReadOnly());
                assertTrue(view.data().isNative(), "a zero-copy view lies in the mapped pool, not on the heap");
                assertArrayEquals(value, view.data().toArray(ValueLayout.JAVA_BYTE));
                final ByteBuffer buffer = view.asByteBuffer();
                assertTrue(buffer.isReadOnly());
                assertEquals(size, buffer.remaining());
                assertEquals(value[size - 1], buffer.get(size - 1));
                assertThrows(IllegalArgumentException.class,
                    () -> view.data().set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
            }
        }
        final List<ReadOnlyBuffer> views = kv.getBuffers(List.of("zc-1", "zc-missing", "zc-100"), 0);
        assertEquals(3, views.size());
        assertEquals(null, views.get(1));
        views.get(0).close();
        views.get(2).close();
        assertCode(StatusCode.NOT_FOUND, () -> kv.getBuffers(List.of("zc-missing"), 0));
    }

    @Test
    void aClosedViewRefusesAccess()
    {
        set("zc-closed", randomBytes(1, 1000));
        final ReadOnlyBuffer view = view("zc-closed");
        view.close();
        view.close(); // twice is harmless
        assertThrows(IllegalStateException.class, view::data);
        assertThrows(IllegalStateException.class, view::toByteArray);
    }

    @Test
    void aViewOutlivesDeleteAndOverwriteOfItsKey()
    {
        final byte[] first = randomBytes(21, 3 * MIB);
        final byte[] second = randomBytes(22, 3 * MIB);
        set("zc-live", first);
        try (ReadOnlyBuffer beforeDelete = view("zc-live"))
        {
            kv.delete("zc-live");
            assertCode(StatusCode.NOT_FOUND, () -> kv.get("zc-live"));
            // new values of the same size are written meanwhile, a freed block would be reused by them
            for (int i = 0; i < 5; i++)
            {
                set("zc-filler-" + i, randomBytes(30 + i, 3 * MIB));
            }
            assertArrayEquals(first, beforeDelete.toByteArray(), "view changed after delete");

            set("zc-live", first);
            try (ReadOnlyBuffer beforeOverwrite = view("zc-live"))
            {
                set("zc-live", second);
                assertArrayEquals(second, kv.get("zc-live"));
                set("zc-live", randomBytes(23, 3 * MIB));
                assertArrayEquals(first, beforeOverwrite.data().toArray(ValueLayout.JAVA_BYTE),
                    "view changed after overwrite");
            }
            assertArrayEquals(first, beforeDelete.toByteArray());
        }
    }

    @Test
    void memoryOfAnOpenViewIsNotReusedAfterDelete()
    {
        final byte[] value = randomBytes(40, 32 * MIB);
        set("zc-32m", value);
        final ReadOnlyBuffer view = view("zc-32m");
        kv.delete("zc-32m");
        assertCode(StatusCode.OUT_OF_MEMORY, () -> set("zc-40m", new byte[40 * MIB]));
        assertArrayEquals(value, view.toByteArray());
        assertServes(client);
        view.close();
        set("zc-40m", randomBytes(41, 40 * MIB));
        assertArrayEquals(randomBytes(41, 40 * MIB), kv.get("zc-40m"));
    }

    @Test
    void memoryOfAnOpenViewIsNotReusedAfterOverwrite()
    {
        final byte[] value = randomBytes(42, 32 * MIB);
        set("zc-ow", value);
        final ReadOnlyBuffer view = view("zc-ow");
        set("zc-ow", new byte[] {1});
        assertCode(StatusCode.OUT_OF_MEMORY, () -> set("zc-40m", new byte[40 * MIB]));
        assertArrayEquals(value, view.toByteArray());
        view.close();
        set("zc-40m", new byte[40 * MIB]);
    }

    @Test
    void everyViewOfAnObjectHoldsItUntilTheLastIsClosed()
    {
        final byte[] value = randomBytes(43, 32 * MIB);
        set("zc-twice", value);
        final ReadOnlyBuffer one = view("zc-twice");
        final ReadOnlyBuffer two = view("zc-twice");
        final List<ReadOnlyBuffer> threeAndFour = kv.getBuffers(List.of("zc-twice", "zc-twice"), 0);
        kv.delete("zc-twice");
        one.close();
        threeAndFour.get(1).close();
        assertCode(StatusCode.OUT_OF_MEMORY, () -> set("zc-40m", new byte[40 * MIB]));
        threeAndFour.get(0).close();
        assertCode(StatusCode.OUT_OF_MEMORY, () -> set("zc-40m", new byte[40 * MIB]));
        assertArrayEquals(value, two.toByteArray());
        two.close();
        set("zc-40m", new byte[40 * MIB]);
    }

    @Test
    void aFullPoolAnswersOutOfMemoryAndRecoversWhenKeysAreDeleted()
    {
        final byte[] mib = randomBytes(50, MIB);
        int large = 0;
        DsException full = null;
        while (large < 100)
        {
            try
            {
                keep("zc-fill-" + large, mib);
                large++;
            }
            catch (final DsException e)
            {
                full = e;
                break;
            }
        }
        assertTrue(full != null, "a 64 MiB pool took " + large + " values of 1 MiB");
        assertEquals(StatusCode.OUT_OF_MEMORY, full.code(), full.getMessage());
        assertTrue(large >= 55 && large <= 64, large + " values of 1 MiB fit a 64 MiB pool");

        // now fill the rest with small values until no batch fits at all
        int smallBatches = 0;
        int small = 0;
        while (true)
        {
            final List<String> keys = new ArrayList<>();
            for (int i = 0; i < 1999; i++)
            {
                keys.add("zc-small-" + smallBatches + "-" + i);
            }
            written.addAll(keys);
            try
            {
                final List<String> failed = kv.mset(keys, Collections.nCopies(keys.size(), new byte[KIB]),
                    SetParam.DEFAULT);
                small += keys.size() - failed.size();
                smallBatches++;
                assertTrue(smallBatches < 100, "the pool never filled up");
            }
            catch (final DsException e)
            {
                assertEquals(StatusCode.OUT_OF_MEMORY, e.code(), e.getMessage());
                break;
            }
        }
        assertCode(StatusCode.OUT_OF_MEMORY, () -> kv.set("zc-one-more", new byte[KIB]));
        assertCode(StatusCode.OUT_OF_MEMORY, () -> kv.set("zc-one-more", mib));
        // a droppable value is refused too when every stored value is one the worker must keep
        assertCode(StatusCode.OUT_OF_MEMORY, () -> set("zc-droppable", mib));

        // still serving: reads of what is stored work
        assertArrayEquals(mib, kv.get("zc-fill-0"));
        try (ReadOnlyBuffer view = view("zc-fill-" + (large - 1)))
        {
            assertArrayEquals(mib, view.toByteArray());
        }
        if (small > 0)
        {
            assertArrayEquals(new byte[KIB], kv.get("zc-small-0-0"));
        }
        assertEquals(List.of(true, false), kv.exist(List.of("zc-fill-1", "zc-one-more")));

        // deleting a few large values makes room again
        kv.delete(List.of("zc-fill-0", "zc-fill-1", "zc-fill-2"));
        assertServes(client);
        set("zc-again", mib);
        assertArrayEquals(mib, kv.get("zc-again"));

        // and once everything is deleted, the whole pool is one free run again
        deleteKeys();
        final byte[] most = randomBytes(51, 60 * MIB);
        set("zc-most", most);
        assertArrayEquals(most, kv.get("zc-most"));
    }

    @Test
    void aViewSurvivesManyOtherClientsAndValues()
    {
        final byte[] value = randomBytes(60, 2 * MIB);
        set("zc-stable", value);
        try (ReadOnlyBuffer view = view("zc-stable"))
        {
            final MemorySegment data = view.data();
            for (int round = 0; round < 3; round++)
            {
                try (DsClient other = SystemTests.connect(worker, Transport.AUTO))
                {
                    other.kv().set("zc-stable", randomBytes(61 + round, 2 * MIB));
                    other.kv().delete("zc-stable");
                    for (int i = 0; i < 10; i++)
                    {
                        other.kv().set("zc-churn-" + i, randomBytes(70 + i, 2 * MIB));
                    }
                    other.kv().delete(List.of("zc-churn-0", "zc-churn-1", "zc-churn-2", "zc-churn-3", "zc-churn-4",
                        "zc-churn-5", "zc-churn-6", "zc-churn-7", "zc-churn-8", "zc-churn-9"));
                }
                assertArrayEquals(value, data.toArray(ValueLayout.JAVA_BYTE), "round " + round);
            }
        }
    }
}
