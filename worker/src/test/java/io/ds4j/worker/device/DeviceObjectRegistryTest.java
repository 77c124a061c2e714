package io.ds4j.worker.device;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.DevMgetCodec;
import io.ds4j.common.protocol.DevMsetCodec;
import io.ds4j.common.protocol.DevStageCodec;
import io.ds4j.common.protocol.DeviceObjectDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DeviceObjectRegistryTest
{
    private static final long PRODUCER = 11;
    private static final long READER = 22;

    private final DeviceObjectRegistry registry = new DeviceObjectRegistry();

    private static DevMsetCodec.Item item(final String key)
    {
        return new DevMsetCodec.Item(key, new DeviceObjectDescriptor("host", 1234, 0,
            List.of(new DeviceObjectDescriptor.Blob(new byte[64], 0, 0x1000, 100))));
    }

    private Map<String, StatusCode> register(final long client, final boolean oneShot, final String... keys)
    {
        final Map<String, StatusCode> failed = new LinkedHashMap<>();
        final List<DevMsetCodec.Item> items = new ArrayList<>();
        for (final String key : keys)
        {
            items.add(item(key));
        }
        registry.register(client, items, oneShot, (key, e) -> failed.put(key, e.code()));
        return failed;
    }

    @Test
    void aDeviceObjectIsNeverOverwritten()
    {
        assertEquals(Map.of(), register(PRODUCER, false, "a", "b"));
        assertEquals(Map.of("a", StatusCode.OC_KEY_ALREADY_EXIST), register(READER, false, "a"));
        assertEquals(Map.of("bad key", StatusCode.INVALID), register(PRODUCER, false, "bad key"));
        registry.delete("a");
        assertEquals(Map.of(), register(READER, false, "a"));
    }

    @Test
    void aGetWaitsForAKeyRegisteredLater() throws Exception
    {
        final CompletableFuture<DevMgetCodec.Entry[]> waiting = CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return registry.get(List.of("later"), 10_000, false);
            }
            catch (final InterruptedException e)
            {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
        assertFalse(waiting.isDone());
        register(PRODUCER, false, "later");
        final DevMgetCodec.Entry entry = waiting.get(5, TimeUnit.SECONDS)[0];
        assertTrue(entry.found());
        assertEquals(PRODUCER, entry.producerClientId());
        assertEquals(StatusCode.NOT_FOUND, registry.get(List.of("never"), 0, false)[0].status());
    }

    @Test
    void aProducersObjectsEndWithItsSessionAndReadersAreToldWhy() throws Exception
    {
        register(PRODUCER, false, "mine");
        register(READER, false, "theirs");
        registry.sessionEnded(PRODUCER, 1234);
        final DevMgetCodec.Entry[] entries = registry.get(List.of("mine", "theirs"), 0, false);
        assertEquals(StatusCode.CLIENT_WORKER_DISCONNECT, entries[0].status());
        assertTrue(entries[0].message().contains("pid 1234) ended"), entries[0].message());
        assertTrue(entries[1].found());
        assertEquals(1, registry.size());
        // a new registration of the key clears what readers are told
        register(READER, false, "mine");
        assertTrue(registry.get(List.of("mine"), 0, false)[0].found());
    }

    @Test
    void aLocalDeleteRemovesOnlyTheCallersObjects() throws Exception
    {
        register(PRODUCER, false, "k");
        registry.deleteLocal(READER, "k");
        assertTrue(registry.get(List.of("k"), 0, false)[0].found());
        registry.deleteLocal(PRODUCER, "k");
        assertEquals(StatusCode.NOT_FOUND, registry.get(List.of("k"), 0, false)[0].status());
    }

    @Test
    void aSubscriberSeesOnlyPublicationsAndItsReceiptEndsThePublishersWait() throws Exception
    {
        register(PRODUCER, false, "set");
        register(PRODUCER, true, "published");
        assertFalse(registry.get(List.of("set"), 0, true)[0].found());
        assertTrue(registry.get(List.of("published"), 0, true)[0].found());
        assertThrows(DsException.class, () -> registry.received("set"));

        final CompletableFuture<Map<String, StatusCode>> receipt = CompletableFuture.supplyAsync(() ->
        {
            final Map<String, StatusCode> failed = new LinkedHashMap<>();
            try
            {
                registry.awaitReceipt(PRODUCER, List.of("published"), 10_000, (key, e) -> failed.put(key, e.code()));
            }
            catch (final InterruptedException e)
            {
                throw new IllegalStateException(e);
            }
            return failed;
        });
        Thread.sleep(100);
        assertFalse(receipt.isDone());
        registry.received("published");
        assertEquals(Map.of(), receipt.get(5, TimeUnit.SECONDS));

        register(PRODUCER, true, "nobody");
        final Map<String, StatusCode> late = new LinkedHashMap<>();
        registry.awaitReceipt(PRODUCER, List.of("nobody", "unknown"), 50, (key, e) -> late.put(key, e.code()));
        assertEquals(Map.of("nobody", StatusCode.FUTURE_TIMEOUT, "unknown", StatusCode.NOT_FOUND), late);
    }

    @Test
    void stagingRequestsWaitForTheirProducer() throws Exception
    {
        register(PRODUCER, false, "remote");
        final Map<String, StatusCode> refused = new LinkedHashMap<>();
        registry.requestStaging(List.of(new DevStageCodec.Pair("remote", "ds4j-staging.x.0"),
            new DevStageCodec.Pair("missing", "ds4j-staging.x.1")), (key, e) -> refused.put(key, e.code()));
        assertEquals(Map.of("missing", StatusCode.NOT_FOUND), refused);
        assertEquals(List.of(), registry.awaitStaging(READER, 10));
        assertEquals(List.of(new DevStageCodec.Pair("remote", "ds4j-staging.x.0")),
            registry.awaitStaging(PRODUCER, 1000));
        assertEquals(List.of(), registry.awaitStaging(PRODUCER, 10));
    }
}
