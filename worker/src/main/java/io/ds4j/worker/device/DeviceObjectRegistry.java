package io.ds4j.worker.device;

import io.ds4j.common.DsException;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.DevMgetCodec;
import io.ds4j.common.protocol.DevMsetCodec;
import io.ds4j.common.protocol.DevStageCodec;
import io.ds4j.common.protocol.DeviceObjectDescriptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The device objects this worker knows (spec §1.5 "device-resident objects"): for each key, which client holds the
 * bytes on which device, and the IPC handles another process opens them with. Never the bytes themselves: they stay
 * in the producer's device memory, so a producer whose session ends takes its objects with it, and readers are told
 * so ({@link #sessionEnded}).
 *
 * <p>One monitor guards everything; waiters (a get with a sub timeout, a publisher awaiting receipt) wait on it and
 * every change wakes them. Device objects are few and large (one per KV-cache block or weight shard), so this is not
 * a contended lock; a worker with many thousands of waiting readers would want per-key waiters instead.
 *
 * <p>Readers on another host cannot open the handles; their requests to have objects staged in host objects wait
 * here for the producer's DEV_SERVE ({@link #requestStaging}, {@link #awaitStaging}).
 *
 * <p>Scope: the objects registered at this worker. A reader connected to another worker of a cluster does not find
 * them (docs/device.md, "What is not done yet").
 */
public final class DeviceObjectRegistry
{
    private static final Logger LOG = LoggerFactory.getLogger(DeviceObjectRegistry.class);
    /** How many ended producers' keys and received one-shot keys are remembered, to tell readers what happened. */
    private static final int MEMORY = 100_000;

    /** One device object. */
    public record Registered(String key, long producerClientId, DeviceObjectDescriptor descriptor, boolean oneShot)
    {
    }

    private final Map<String, Registered> objects = new HashMap<>();
    /** Keys whose producer's session ended, with the reason a reader gets. */
    private final Map<String, String> ended = bounded();
    /** One-shot keys a subscriber received, with their publisher, until the publisher's DEV_AWAIT sees them. */
    private final Map<String, Long> received = bounded();
    /** Staging requests (DEV_STAGE) waiting for their producer's DEV_SERVE, by producer client id. */
    private final Map<Long, List<DevStageCodec.Pair>> staging = new HashMap<>();

    private static <V> Map<String, V> bounded()
    {
        return new LinkedHashMap<>()
        {
            @Override
            protected boolean removeEldestEntry(final Map.Entry<String, V> eldest)
            {
                return size() > MEMORY;
            }
        };
    }

    /**
     * Registers the items of a DEV_MSET; a key that exists fails with OC_KEY_ALREADY_EXIST (never overwritten, as
     * upstream), a bad key with INVALID.
     */
    public synchronized void register(final long clientId, final List<DevMsetCodec.Item> items, final boolean oneShot,
        final BiConsumer<String, DsException> failed)
    {
        for (final DevMsetCodec.Item item : items)
        {
            final String problem = KeyRules.problem(item.key());
            if (problem != null)
            {
                failed.accept(item.key(), new DsException(StatusCode.INVALID, problem));
                continue;
            }
            if (objects.containsKey(item.key()))
            {
                failed.accept(item.key(), new DsException(StatusCode.OC_KEY_ALREADY_EXIST, "device object "
                    + item.key() + " exists; devDelete it first (device objects are never overwritten)"));
                continue;
            }
            objects.put(item.key(), new Registered(item.key(), clientId, item.descriptor(), oneShot));
            ended.remove(item.key());
            received.remove(item.key());
        }
        notifyAll();
    }

    /**
     * The entries of {@code keys}, waiting up to {@code subTimeoutMs} for those not registered yet (or, when
     * subscribing, not yet published one-shot). A key whose producer ended answers CLIENT_WORKER_DISCONNECT with the
     * reason, at once.
     */
    public synchronized DevMgetCodec.Entry[] get(final List<String> keys, final long subTimeoutMs,
        final boolean subscribe) throws InterruptedException
    {
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        final long deadline = System.nanoTime() + subTimeoutMs * 1_000_000L;
        final DevMgetCodec.Entry[] entries = new DevMgetCodec.Entry[keys.size()];
        while (true)
        {
            int waiting = 0;
            for (int i = 0; i < entries.length; i++)
            {
                if (entries[i] == null)
                {
                    entries[i] = entry(keys.get(i), subscribe);
                    waiting += entries[i] == null ? 1 : 0;
                }
            }
            final long left = deadline - System.nanoTime();
            if (waiting == 0 || left <= 0)
            {
                break;
            }
            wait(Math.max(1, left / 1_000_000L));
        }
        for (int i = 0; i < entries.length; i++)
        {
            if (entries[i] == null)
            {
                entries[i] = new DevMgetCodec.Entry(0, null, StatusCode.NOT_FOUND, "device object " + keys.get(i)
                    + (subscribe ? " was not published" : " does not exist")
                    + (subTimeoutMs > 0 ? " (waited " + subTimeoutMs + " ms)" : ""));
            }
        }
        return entries;
    }

    private DevMgetCodec.Entry entry(final String key, final boolean subscribe)
    {
        final Registered object = objects.get(key);
        if (object != null && (!subscribe || object.oneShot()))
        {
            return new DevMgetCodec.Entry(object.producerClientId(), object.descriptor(), StatusCode.OK, "");
        }
        final String why = ended.get(key);
        return why == null ? null : new DevMgetCodec.Entry(0, null, StatusCode.CLIENT_WORKER_DISCONNECT, why);
    }

    /** devDelete: removes the key whoever registered it; a missing key is not a failure. */
    public synchronized void delete(final String key)
    {
        if (objects.remove(key) != null)
        {
            notifyAll();
        }
    }

    /** devLocalDelete: removes the key only if {@code clientId} registered it. */
    public synchronized void deleteLocal(final long clientId, final String key)
    {
        final Registered object = objects.get(key);
        if (object != null && object.producerClientId() == clientId)
        {
            objects.remove(key);
            notifyAll();
        }
    }

    /** A subscriber's receipt: the one-shot object goes, and its publisher's DEV_AWAIT learns it was received. */
    public synchronized void received(final String key)
    {
        final Registered object = objects.get(key);
        if (object == null)
        {
            return;
        }
        if (!object.oneShot())
        {
            throw new DsException(StatusCode.INVALID, "device object " + key + " was set with devMset, not published;"
                + " only a devPublish is deleted on receipt");
        }
        objects.remove(key);
        received.put(key, object.producerClientId());
        notifyAll();
    }

    /**
     * Waits up to {@code timeoutMs} until every key {@code clientId} published was received; reports each key that
     * was not (FUTURE_TIMEOUT while still waiting for a subscriber, NOT_FOUND when deleted or never published).
     */
    public synchronized void awaitReceipt(final long clientId, final List<String> keys, final long timeoutMs,
        final BiConsumer<String, DsException> failed) throws InterruptedException
    {
        final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (true)
        {
            int pending = 0;
            for (final String key : keys)
            {
                final Registered object = objects.get(key);
                pending += object != null && object.producerClientId() == clientId && object.oneShot() ? 1 : 0;
            }
            final long left = deadline - System.nanoTime();
            if (pending == 0 || left <= 0)
            {
                break;
            }
            wait(Math.max(1, left / 1_000_000L));
        }
        for (final String key : keys)
        {
            final Registered object = objects.get(key);
            final Long receivedFrom = received.get(key);
            if (receivedFrom != null && receivedFrom == clientId)
            {
                received.remove(key);
            }
            else if (object != null && object.producerClientId() == clientId && object.oneShot())
            {
                failed.accept(key, new DsException(StatusCode.FUTURE_TIMEOUT, "no subscriber received " + key
                    + " within " + timeoutMs + " ms"));
            }
            else
            {
                failed.accept(key, new DsException(StatusCode.NOT_FOUND, "publication of " + key
                    + " ended without a receipt (deleted, or not published by this client)"));
            }
        }
    }

    /**
     * Queues readers' requests to copy device objects into host objects for their producers (DEV_STAGE); a key that
     * does not exist, or whose producer ended, fails.
     */
    public synchronized void requestStaging(final List<DevStageCodec.Pair> pairs,
        final BiConsumer<String, DsException> failed)
    {
        for (final DevStageCodec.Pair pair : pairs)
        {
            final String problem = KeyRules.problem(pair.stagingKey());
            final Registered object = objects.get(pair.key());
            if (problem != null)
            {
                failed.accept(pair.key(), new DsException(StatusCode.INVALID, "staging key: " + problem));
            }
            else if (object == null)
            {
                final String why = ended.get(pair.key());
                failed.accept(pair.key(), why != null ? new DsException(StatusCode.CLIENT_WORKER_DISCONNECT, why)
                    : new DsException(StatusCode.NOT_FOUND, "device object " + pair.key() + " does not exist"));
            }
            else
            {
                staging.computeIfAbsent(object.producerClientId(), id -> new ArrayList<>()).add(pair);
            }
        }
        notifyAll();
    }

    /** A producer's DEV_SERVE: the staging requests for its objects, waiting up to {@code waitMs} for one. */
    public synchronized List<DevStageCodec.Pair> awaitStaging(final long clientId, final long waitMs)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + waitMs * 1_000_000L;
        while (!staging.containsKey(clientId))
        {
            final long left = deadline - System.nanoTime();
            if (left <= 0)
            {
                return List.of();
            }
            wait(Math.max(1, left / 1_000_000L));
        }
        final List<DevStageCodec.Pair> queued = staging.get(clientId);
        if (queued.size() <= KeyRules.MAX_READ_BATCH)
        {
            staging.remove(clientId);
            return queued;
        }
        final List<DevStageCodec.Pair> first = new ArrayList<>(queued.subList(0, KeyRules.MAX_READ_BATCH));
        queued.subList(0, KeyRules.MAX_READ_BATCH).clear();
        return first;
    }

    /** A client's session ended: its device memory is gone with it, so are its objects; readers learn why. */
    public synchronized void sessionEnded(final long clientId, final long pid)
    {
        final List<String> gone = new ArrayList<>();
        objects.values().removeIf(object ->
        {
            if (object.producerClientId() != clientId)
            {
                return false;
            }
            gone.add(object.key());
            return true;
        });
        staging.remove(clientId);
        for (final String key : gone)
        {
            ended.put(key, "the producer of device object " + key + " (client " + clientId + ", pid " + pid
                + ") ended; its device memory went with it");
        }
        if (!gone.isEmpty())
        {
            LOG.info("client {} (pid {}) ended: removed its {} device objects", clientId, pid, gone.size());
            notifyAll();
        }
    }

    public synchronized int size()
    {
        return objects.size();
    }
}
