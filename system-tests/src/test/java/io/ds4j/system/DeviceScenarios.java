package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.SetParam;
import io.ds4j.client.hetero.Blob;
import io.ds4j.client.hetero.DeviceBlobList;
import io.ds4j.client.hetero.HeteroClient;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.device.DeviceMemory;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device-object scenarios, written once and run on each device memory: {@link DeviceObjectTest} on the host
 * implementation (everywhere), {@link DeviceObjectGpuIT} on CUDA (where a GPU is found). Each scenario has two client
 * processes: a {@link DeviceProgram} child produces, this JVM consumes, into blobs on another device.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class DeviceScenarios
{
    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(60);
    private static WorkerProcess worker;

    private DsClient client;
    private HeteroClient hetero;
    private DeviceMemory memory;
    private int consumerDevice;
    private final List<List<DeviceBlobList>> allocated = new ArrayList<>();

    /** {@code host} or {@code cuda}: the {@code ds4j.device} of both processes. */
    abstract String deviceMode();

    /** Skips each scenario, with the reason, where this device memory cannot run (a JUnit assumption). */
    void assumeDevice()
    {
    }

    static synchronized WorkerProcess worker()
    {
        if (worker == null)
        {
            // a short dead-client timeout: a killed producer's session (and its device objects) ends quickly
            worker = WorkerProcess.start("shared_memory_size_mb", "256", "client_dead_timeout_s", "1");
        }
        return worker;
    }

    @AfterAll
    static void stopWorker()
    {
        if (worker != null)
        {
            worker.close();
            worker = null;
        }
    }

    @BeforeEach
    void connect()
    {
        assumeDevice();
        System.setProperty("ds4j.device", deviceMode());
        client = SystemTests.connect(worker(), Transport.AUTO);
        hetero = client.hetero();
        memory = hetero.deviceMemory();
        consumerDevice = Math.min(1, memory.deviceCount() - 1);
    }

    @AfterEach
    void close()
    {
        if (client == null)
        {
            return;
        }
        allocated.forEach(lists -> DevicePattern.free(memory, lists));
        allocated.clear();
        client.close();
    }

    private List<DeviceBlobList> blobs(final int keys, final int fragments, final int size)
    {
        final List<DeviceBlobList> lists = DevicePattern.allocate(memory, consumerDevice, keys, fragments, size);
        allocated.add(lists);
        return lists;
    }

    private ChildJvm producer(final String command, final List<String> keys, final int fragments, final int size,
        final long seed)
    {
        return ChildJvm.startMain(DeviceProgram.class, worker().host(), String.valueOf(worker().port()), deviceMode(),
            command, String.join(",", keys), String.valueOf(fragments), String.valueOf(size), String.valueOf(seed));
    }

    private static List<String> keys(final String prefix, final int count)
    {
        final String run = UUID.randomUUID().toString().substring(0, 8);
        final List<String> keys = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            keys.add(prefix + "-" + run + "-" + i);
        }
        return keys;
    }

    private void assertRestored(final List<DeviceBlobList> lists, final long seed)
    {
        for (int k = 0; k < lists.size(); k++)
        {
            assertNull(DevicePattern.mismatch(memory, lists.get(k), k, seed));
        }
    }

    // ---------------------------------------------------------------- host-side swap

    @Test
    void msetD2HInOneProcessIsRestoredByMgetH2DInAnotherWithTheChariotShapes()
    {
        final List<String> qwen = keys("qwen", 2);
        final List<String> deepseek = keys("deepseek", 2);
        try (ChildJvm one = producer("d2h", qwen, 28, 1 << 20, 1);
             ChildJvm two = producer("d2h", deepseek, 62, 72 * 1024, 2))
        {
            one.awaitLine("STORED []", CHILD_TIMEOUT);
            two.awaitLine("STORED []", CHILD_TIMEOUT);
            assertEquals(0, one.awaitExit(CHILD_TIMEOUT), one.output());
            assertEquals(0, two.awaitExit(CHILD_TIMEOUT), two.output());
        }
        final List<DeviceBlobList> qwenBlobs = blobs(2, 28, 1 << 20);
        final List<DeviceBlobList> deepseekBlobs = blobs(2, 62, 72 * 1024);
        assertEquals(List.of(), hetero.mgetH2D(qwen, qwenBlobs, 0));
        assertEquals(List.of(), hetero.mgetH2D(deepseek, deepseekBlobs, 0));
        assertRestored(qwenBlobs, 1);
        assertRestored(deepseekBlobs, 2);
        // the host object is an ordinary KV value: the layout, then the fragments back to back
        assertEquals(576 + 62 * 72 * 1024, client.kv().get(deepseek.getFirst()).length);
        assertEquals(List.of(), hetero.delete(qwen));
        SystemTests.assertCode(StatusCode.NOT_FOUND, () -> hetero.mgetH2D(qwen, qwenBlobs, 0));
    }

    @Test
    void asyncMgetH2DReportsAMissingKeyAndRestoresTheOthers() throws Exception
    {
        final List<String> present = keys("async", 3);
        final List<DeviceBlobList> source = DevicePattern.allocate(memory, 0, 3, 4, 4096);
        allocated.add(source);
        DevicePattern.fill(memory, source, 5);
        assertEquals(List.of(), hetero.asyncMsetD2H(present, source, SetParam.DEFAULT).get(30, TimeUnit.SECONDS));

        final List<String> asked = new ArrayList<>(present);
        asked.add(1, "missing-" + UUID.randomUUID());
        final List<DeviceBlobList> target = blobs(4, 4, 4096);
        final List<String> failed = hetero.asyncMgetH2D(asked, target, 0).get(30, TimeUnit.SECONDS);
        assertEquals(List.of(asked.get(1)), failed);
        assertNull(DevicePattern.mismatch(memory, target.get(0), 0, 5));
        assertNull(DevicePattern.mismatch(memory, target.get(2), 1, 5));
        assertNull(DevicePattern.mismatch(memory, target.get(3), 2, 5));

        final ExecutionException allMissing = assertThrows(ExecutionException.class,
            () -> hetero.asyncMgetH2D(List.of("missing-" + UUID.randomUUID()), target.subList(0, 1), 0)
                .get(30, TimeUnit.SECONDS));
        assertEquals(StatusCode.NOT_FOUND, assertInstanceOf(DsException.class, allMissing.getCause()).code());
    }

    @Test
    void mgetH2DWaitsForAKeySetLaterByAnotherProcess() throws Exception
    {
        final List<String> key = keys("later", 1);
        final List<DeviceBlobList> target = blobs(1, 3, 10_000);
        final CompletableFuture<List<String>> waiting = hetero.asyncMgetH2D(key, target, 30_000);
        try (ChildJvm producer = producer("d2h", key, 3, 10_000, 9))
        {
            producer.awaitLine("STORED []", CHILD_TIMEOUT);
        }
        assertEquals(List.of(), waiting.get(30, TimeUnit.SECONDS));
        assertRestored(target, 9);
    }

    @Test
    void otherFragmentsThanStoredFailThatKeyWithTheReason()
    {
        final List<String> keys = keys("shape", 2);
        final List<DeviceBlobList> source = DevicePattern.allocate(memory, 0, 2, 2, 1000);
        allocated.add(source);
        assertEquals(List.of(), hetero.msetD2H(keys, source));
        final List<DeviceBlobList> target = new ArrayList<>(blobs(1, 2, 1000));
        target.addAll(blobs(1, 3, 1000));
        assertEquals(List.of(keys.get(1)), hetero.mgetH2D(keys, target, 0));
        final DsException e = SystemTests.assertCode(StatusCode.INVALID,
            () -> hetero.mgetH2D(keys.subList(1, 2), target.subList(1, 2), 0));
        assertTrue(e.getMessage().contains("stored as 2 fragments, but 3 blobs"), e.getMessage());
        // a plain KV value is not a host object
        client.kv().set(keys.get(0), new byte[100]);
        assertTrue(SystemTests.assertCode(StatusCode.INVALID, () -> hetero.mgetH2D(keys.subList(0, 1),
            target.subList(0, 1), 0)).getMessage().contains("not set by msetD2H"));
    }

    @Test
    void aTcpClientSwapsThroughInlineValues()
    {
        final List<String> keys = keys("tcp", 2);
        try (DsClient tcp = SystemTests.connect(worker(), Transport.TCP_INLINE))
        {
            final HeteroClient overTcp = tcp.hetero();
            final List<DeviceBlobList> source = DevicePattern.allocate(overTcp.deviceMemory(), 0, 2, 5, 3000);
            DevicePattern.fill(overTcp.deviceMemory(), source, 11);
            assertEquals(List.of(), overTcp.msetD2H(keys, source));
            DevicePattern.free(overTcp.deviceMemory(), source);
        }
        final List<DeviceBlobList> target = blobs(2, 5, 3000);
        assertEquals(List.of(), hetero.mgetH2D(keys, target, 0));
        assertRestored(target, 11);
    }

    @Test
    void batchesAreCheckedBeforeAnythingIsSent()
    {
        final List<DeviceBlobList> one = blobs(1, 1, 64);
        SystemTests.assertCode(StatusCode.INVALID, () -> hetero.msetD2H(List.of("a", "b"), one));
        final List<String> tooMany = new ArrayList<>();
        final List<DeviceBlobList> lists = new ArrayList<>();
        for (int i = 0; i <= 10_000; i++)
        {
            tooMany.add("k" + i);
            lists.add(one.getFirst());
        }
        SystemTests.assertCode(StatusCode.INVALID, () -> hetero.mgetH2D(tooMany, lists, 0));
        SystemTests.assertCode(StatusCode.INVALID, () -> hetero.devMset(tooMany, lists));
        SystemTests.assertCode(StatusCode.INVALID, () -> new DeviceBlobList(0, List.of()));
        SystemTests.assertCode(StatusCode.INVALID, () -> hetero.msetD2H(List.of("x"),
            List.of(new DeviceBlobList(memory.deviceCount(), List.of(new Blob(1, 1))))));
    }

    // ---------------------------------------------------------------- device-resident objects

    @Test
    void devMsetInOneProcessIsPulledByDevMgetInAnother()
    {
        final List<String> keys = keys("dev", 3);
        try (ChildJvm producer = producer("devset", keys, 8, 64 * 1024, 21))
        {
            producer.awaitLine("REGISTERED []", CHILD_TIMEOUT);
            final List<DeviceBlobList> target = blobs(3, 8, 64 * 1024);
            DevicePattern.clear(memory, target);
            assertEquals(List.of(), hetero.devMget(keys, target, 0));
            assertRestored(target, 21);

            // never overwritten: the same key again fails, as "key,device"
            final List<DeviceBlobList> mine = blobs(1, 8, 64 * 1024);
            final DsException exists = SystemTests.assertCode(StatusCode.OC_KEY_ALREADY_EXIST,
                () -> hetero.devMset(keys.subList(0, 1), mine));
            assertTrue(exists.getMessage().contains(keys.getFirst() + "," + consumerDevice), exists.getMessage());
            // a local delete removes only this client's objects: the producer's stay
            assertEquals(List.of(), hetero.devLocalDelete(keys));
            assertEquals(List.of(), hetero.devMget(keys.subList(0, 1), target.subList(0, 1), 0));
            // a global one removes them
            assertEquals(List.of(), hetero.devDelete(keys.subList(0, 1)));
            assertEquals(List.of(keys.getFirst() + "," + consumerDevice),
                hetero.devMget(keys.subList(0, 2), target.subList(0, 2), 0));

            producer.tell("EXIT");
            producer.awaitLine("EXITING", CHILD_TIMEOUT);
            assertEquals(0, producer.awaitExit(CHILD_TIMEOUT), producer.output());
        }
        // the producer said goodbye: its objects went with its session
        final DsException gone = SystemTests.assertCode(StatusCode.CLIENT_WORKER_DISCONNECT,
            () -> hetero.devMget(keys.subList(1, 2), blobs(1, 8, 64 * 1024), 0));
        assertTrue(gone.getMessage().contains("ended"), gone.getMessage());
    }

    @Test
    void aReaderOnAnotherHostGetsTheObjectsThroughAHostObjectTheProducerStages()
    {
        final List<String> keys = keys("remote", 2);
        try (ChildJvm producer = producer("devset", keys, 6, 50_000, 27);
             ChildJvm reader = awaitThen(producer, "REGISTERED []",
                 () -> producer("remote-get", keys, 6, 50_000, 27)))
        {
            reader.awaitLine("PULLED []", CHILD_TIMEOUT);
            reader.awaitLine("EXACT", CHILD_TIMEOUT);
            assertEquals(0, reader.awaitExit(CHILD_TIMEOUT), reader.output());
            // staging did not consume the objects: they stay for other readers
            assertEquals(List.of(), hetero.devMget(keys, blobs(2, 6, 50_000), 0));
            producer.tell("EXIT");
            assertEquals(0, producer.awaitExit(CHILD_TIMEOUT), producer.output());
        }
    }

    private static ChildJvm awaitThen(final ChildJvm first, final String line,
        final java.util.function.Supplier<ChildJvm> then)
    {
        first.awaitLine(line, CHILD_TIMEOUT);
        return then.get();
    }

    @Test
    void aReaderThatKeptAProducersAllocationOpenReadsItsNewMemoryAfterItIsRenewed()
    {
        final List<String> keys = keys("renewed", 2);
        try (ChildJvm producer = producer("devset", keys, 3, 40_000, 51))
        {
            producer.awaitLine("REGISTERED []", CHILD_TIMEOUT);
            final List<DeviceBlobList> target = blobs(2, 3, 40_000);
            assertEquals(List.of(), hetero.devMget(keys, target, 0));
            assertRestored(target, 51);
            // the producer frees its memory and registers new memory (same sizes, fd numbers reused) under the keys
            producer.tell("RENEW");
            producer.awaitLine("RENEWED []", CHILD_TIMEOUT);
            DevicePattern.clear(memory, target);
            assertEquals(List.of(), hetero.devMget(keys, target, 0));
            assertRestored(target, 52);
            producer.tell("EXIT");
            assertEquals(0, producer.awaitExit(CHILD_TIMEOUT), producer.output());
        }
    }

    @Test
    void devMgetWaitsForAKeyRegisteredLater() throws Exception
    {
        final List<String> key = keys("devlater", 1);
        final List<DeviceBlobList> target = blobs(1, 2, 5000);
        final CompletableFuture<List<String>> waiting = CompletableFuture.supplyAsync(
            () -> hetero.devMget(key, target, 30_000));
        try (ChildJvm producer = producer("devset", key, 2, 5000, 23))
        {
            producer.awaitLine("REGISTERED []", CHILD_TIMEOUT);
            assertEquals(List.of(), waiting.get(30, TimeUnit.SECONDS));
            assertRestored(target, 23);
        }
    }

    @Test
    void aKilledProducersObjectsFailWithAClearError()
    {
        final List<String> keys = keys("killed", 2);
        final List<DeviceBlobList> target = blobs(2, 4, 8192);
        try (ChildJvm producer = producer("devset", keys, 4, 8192, 31))
        {
            producer.awaitLine("REGISTERED []", CHILD_TIMEOUT);
            assertEquals(List.of(), hetero.devMget(keys.subList(0, 1), target.subList(0, 1), 0));
            producer.kill9();
        }
        // at once: the worker may not know yet, but the producer's memory is gone and opening it says so
        final DsException first = assertThrows(DsException.class, () -> hetero.devMget(keys, target, 0));
        assertTrue(first.getMessage().contains("gone") || first.getMessage().contains("ended"), first.getMessage());
        // once its session is reaped, the worker answers for it
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        DsException later = first;
        while (System.nanoTime() < deadline && later.code() != StatusCode.CLIENT_WORKER_DISCONNECT)
        {
            SystemTests.sleep(200);
            later = assertThrows(DsException.class, () -> hetero.devMget(keys, target, 0));
        }
        assertEquals(StatusCode.CLIENT_WORKER_DISCONNECT, later.code(), later.getMessage());
        assertTrue(later.getMessage().contains("ended; its device memory went with it"), later.getMessage());
    }

    @Test
    void devSubscribeReceivesAPublicationOnceAndThePublisherLearnsIt() throws Exception
    {
        final List<String> keys = keys("pub", 2);
        final List<DeviceBlobList> target = blobs(2, 3, 20_000);
        final List<CompletableFuture<Void>> received = hetero.devSubscribe(keys, target, 30_000);
        try (ChildJvm publisher = producer("publish", keys, 3, 20_000, 41))
        {
            publisher.awaitLine("PUBLISHED", CHILD_TIMEOUT);
            CompletableFuture.allOf(received.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertRestored(target, 41);
            publisher.awaitLine("RECEIVED", CHILD_TIMEOUT);
            assertEquals(0, publisher.awaitExit(CHILD_TIMEOUT), publisher.output());
        }
        // deleted once received
        SystemTests.assertCode(StatusCode.NOT_FOUND, () -> hetero.devMget(keys.subList(0, 1), target.subList(0, 1),
            0));
    }

    @Test
    void aPublicationNobodyReceivesTimesOutItsFuture()
    {
        final List<String> key = keys("unreceived", 1);
        final List<DeviceBlobList> source = blobs(1, 1, 100);
        final CompletableFuture<Void> receipt = hetero.devPublish(key, source).getFirst();
        // devMget is not a subscription: it reads without receiving
        assertEquals(List.of(), hetero.devMget(key, blobs(1, 1, 100), 0));
        assertEquals(List.of(), hetero.devDelete(key));
        final ExecutionException ended = assertThrows(ExecutionException.class, () -> receipt.get(30,
            TimeUnit.SECONDS));
        assertEquals(StatusCode.NOT_FOUND, assertInstanceOf(DsException.class, ended.getCause()).code());
    }
}
