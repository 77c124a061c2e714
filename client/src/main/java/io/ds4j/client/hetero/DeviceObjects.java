package io.ds4j.client.hetero;

import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BatchCodec;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.DevAwaitCodec;
import io.ds4j.common.protocol.DevDeleteCodec;
import io.ds4j.common.protocol.DevMgetCodec;
import io.ds4j.common.protocol.DevMsetCodec;
import io.ds4j.common.protocol.DeviceObjectDescriptor;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.device.DeviceMemory;
import io.ds4j.device.IpcMemHandle;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Device-resident objects (spec §1.5): {@code devMset} registers where a key's device fragments are (the IPC handle
 * of each, from {@link DeviceMemory#ipcHandle}) and the bytes stay on the producer's device; {@code devMget} asks the
 * worker where they are and copies them device to device into the caller's blobs, opening the producer's handles
 * (same host; kept open for later calls by {@link OpenedHandles}) or, in the producer's own process, from the
 * pointers themselves. {@code devPublish}/{@code devSubscribe} are the one-shot hand-off: the subscriber's receipt
 * deletes the object and completes the publisher's futures.
 *
 * <p>Where the handles cannot be opened (the producer is on another host), the object goes through a host object
 * ({@link HostStaging}).
 *
 * <p>Failed keys come back as {@code "key,deviceIdx"}, as upstream.
 */
final class DeviceObjects
{
    /** Upstream's Future.get default: how long a publication waits for its subscriber. */
    static final long DEFAULT_HANDOFF_TIMEOUT_MS = 60_000;

    private final WorkerLink link;
    private final DeviceMemory device;
    private final Executor executor;
    private final HostStaging staging;
    private final OpenedHandles opened;
    private final long pid = ProcessHandle.current().pid();

    DeviceObjects(final WorkerLink link, final DeviceMemory device, final Executor executor, final HostSwap swap)
    {
        this.link = link;
        this.device = device;
        this.executor = executor;
        this.staging = new HostStaging(link, swap, executor);
        this.opened = new OpenedHandles(device);
    }

    void close()
    {
        staging.close();
        opened.close();
    }

    static String failedKey(final String key, final DeviceBlobList blobs)
    {
        return key + "," + blobs.deviceIdx();
    }

    List<String> devMset(final List<String> keys, final List<DeviceBlobList> blobLists, final boolean oneShot)
    {
        HeteroChecks.checkBatch(keys, blobLists, device);
        final FailedKeys failed = new FailedKeys();
        final List<DevMsetCodec.Item> items = new ArrayList<>(keys.size());
        final Map<String, DeviceBlobList> byKey = new HashMap<>();
        for (int i = 0; i < keys.size(); i++)
        {
            try
            {
                items.add(new DevMsetCodec.Item(keys.get(i), describe(blobLists.get(i))));
                byKey.put(keys.get(i), blobLists.get(i));
            }
            catch (final DsException e)
            {
                failed.add(failedKey(keys.get(i), blobLists.get(i)), e);
            }
        }
        if (!items.isEmpty())
        {
            final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
            {
                DevMsetCodec.writeRequest(connection.begin(MessageType.DEV_MSET), oneShot ? DevMsetCodec.ONE_SHOT : 0,
                    items);
                return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
            });
            for (final BatchCodec.Failure failure : failures)
            {
                failed.add(failedKey(failure.key(), byKey.get(failure.key())),
                    new DsException(failure.code(), failure.message()));
                byKey.remove(failure.key());
            }
            staging.registered(byKey);
        }
        return failed.result(keys.size(), oneShot ? "devPublish" : "devMset");
    }

    /** Where the blobs are, as another process opens them. */
    private DeviceObjectDescriptor describe(final DeviceBlobList blobs)
    {
        final List<DeviceObjectDescriptor.Blob> described = new ArrayList<>(blobs.blobs().size());
        for (final Blob blob : blobs.blobs())
        {
            final IpcMemHandle handle = device.ipcHandle(blobs.deviceIdx(), blob.devPtr());
            described.add(new DeviceObjectDescriptor.Blob(handle.bytes(), handle.offset(), blob.devPtr(), blob.size()));
        }
        return new DeviceObjectDescriptor(HostIdentity.id(), pid, blobs.deviceIdx(), described);
    }

    List<String> devMget(final List<String> keys, final List<DeviceBlobList> blobLists, final long subTimeoutMs,
        final boolean subscribe)
    {
        HeteroChecks.checkBatch(keys, blobLists, device);
        if (subTimeoutMs < 0)
        {
            throw new DsException(StatusCode.INVALID, "subTimeoutMs must be 0 (no waiting) or positive");
        }
        final DevMgetCodec.Entry[] entries = link.invoke((connection, state) ->
        {
            DevMgetCodec.writeRequest(connection.begin(MessageType.DEV_MGET), subscribe ? DevMgetCodec.SUBSCRIBE : 0,
                subTimeoutMs, keys);
            final BodyReader in = connection.call(link.requestTimeoutMs() + subTimeoutMs);
            final int count = DevMgetCodec.readEntryCount(in, keys.size());
            final DevMgetCodec.Entry[] result = new DevMgetCodec.Entry[count];
            for (int i = 0; i < count; i++)
            {
                result[i] = DevMgetCodec.readEntry(in);
            }
            return result;
        });
        final FailedKeys failed = new FailedKeys();
        final List<String> copied = new ArrayList<>(keys.size());
        final List<Integer> remote = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++)
        {
            final DeviceBlobList blobs = blobLists.get(i);
            try
            {
                if (!entries[i].found())
                {
                    throw new DsException(entries[i].status(), entries[i].message());
                }
                checkShape(keys.get(i), entries[i].descriptor(), blobs);
                if (entries[i].descriptor().hostId().equals(HostIdentity.id()))
                {
                    pull(entries[i].descriptor(), blobs);
                    copied.add(keys.get(i));
                }
                else
                {
                    remote.add(i);
                }
            }
            catch (final DsException e)
            {
                failed.add(failedKey(keys.get(i), blobs), e);
            }
        }
        if (!remote.isEmpty())
        {
            copied.addAll(staging.pull(keys, blobLists, remote, subTimeoutMs, failed));
        }
        if (subscribe && !copied.isEmpty())
        {
            delete(copied, DevDeleteCodec.RECEIVED);
        }
        return failed.result(keys.size(), subscribe ? "devSubscribe" : "devMget");
    }

    private static void checkShape(final String key, final DeviceObjectDescriptor source,
        final DeviceBlobList target)
    {
        final List<DeviceObjectDescriptor.Blob> from = source.blobs();
        final List<Blob> to = target.blobs();
        if (from.size() != to.size())
        {
            throw new DsException(StatusCode.INVALID, key + " has " + from.size() + " fragments, but " + to.size()
                + " blobs were given");
        }
        for (int i = 0; i < from.size(); i++)
        {
            if (from.get(i).size() != to.get(i).size())
            {
                throw new DsException(StatusCode.INVALID, key + ": fragment " + i + " has " + from.get(i).size()
                    + " bytes, but its blob has " + to.get(i).size());
            }
        }
    }

    /** Copies one object's fragments into the caller's blobs, device to device (same host). */
    private void pull(final DeviceObjectDescriptor source, final DeviceBlobList target)
    {
        final List<DeviceObjectDescriptor.Blob> from = source.blobs();
        final List<Blob> to = target.blobs();
        final int targetDevice = target.deviceIdx();
        if (source.producerPid() == pid)
        {
            // this process made it: its pointers are valid here, and CUDA refuses to open its own handles
            for (int i = 0; i < from.size(); i++)
            {
                device.copyDeviceToDevice(targetDevice, to.get(i).devPtr(), from.get(i).devPtr(), to.get(i).size());
            }
            return;
        }
        opened.checkProducerAlive(source.producerPid());
        for (int i = 0; i < from.size(); i++)
        {
            final DeviceObjectDescriptor.Blob blob = from.get(i);
            final long dst = to.get(i).devPtr();
            opened.withOpened(targetDevice, blob.handle(), blob.offset(), source.producerPid(),
                base -> device.copyDeviceToDevice(targetDevice, dst, base + blob.offset(), blob.size()));
        }
    }

    /** devPublish: registers one-shot objects; each future completes when a subscriber received its key. */
    List<CompletableFuture<Void>> devPublish(final List<String> keys, final List<DeviceBlobList> blobLists,
        final long timeoutMs)
    {
        final List<CompletableFuture<Void>> futures = futures(keys.size());
        final List<String> failedKeys;
        try
        {
            failedKeys = devMset(keys, blobLists, true);
        }
        catch (final DsException e)
        {
            futures.forEach(future -> future.completeExceptionally(e));
            return futures;
        }
        final List<String> published = new ArrayList<>(keys.size());
        final Map<String, CompletableFuture<Void>> byKey = new HashMap<>();
        for (int i = 0; i < keys.size(); i++)
        {
            if (failedKeys.contains(failedKey(keys.get(i), blobLists.get(i))))
            {
                futures.get(i).completeExceptionally(new DsException(StatusCode.OC_KEY_ALREADY_EXIST,
                    "devPublish of " + keys.get(i) + " failed"));
            }
            else
            {
                published.add(keys.get(i));
                byKey.put(keys.get(i), futures.get(i));
            }
        }
        if (!published.isEmpty())
        {
            executor.execute(() -> awaitReceipt(published, byKey, timeoutMs));
        }
        return futures;
    }

    private void awaitReceipt(final List<String> keys, final Map<String, CompletableFuture<Void>> futures,
        final long timeoutMs)
    {
        try
        {
            final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
            {
                DevAwaitCodec.writeRequest(connection.begin(MessageType.DEV_AWAIT), timeoutMs, keys);
                return BatchCodec.readFailures(connection.call(link.requestTimeoutMs() + timeoutMs));
            });
            // received or not, the publication is over: this client no longer stages it for other hosts
            staging.deleted(keys);
            for (final BatchCodec.Failure failure : failures)
            {
                futures.get(failure.key()).completeExceptionally(new DsException(failure.code(), failure.message()));
            }
            futures.values().forEach(future -> future.complete(null));
        }
        catch (final RuntimeException e)
        {
            futures.values().forEach(future -> future.completeExceptionally(e));
        }
    }

    /** devSubscribe: one future per key, complete once its bytes are in the blobs (and the publication deleted). */
    List<CompletableFuture<Void>> devSubscribe(final List<String> keys, final List<DeviceBlobList> blobLists,
        final long timeoutMs)
    {
        HeteroChecks.checkBatch(keys, blobLists, device);
        final List<CompletableFuture<Void>> futures = futures(keys.size());
        executor.execute(() ->
        {
            try
            {
                final List<String> failed = devMget(keys, blobLists, timeoutMs, true);
                for (int i = 0; i < keys.size(); i++)
                {
                    if (failed.contains(failedKey(keys.get(i), blobLists.get(i))))
                    {
                        futures.get(i).completeExceptionally(new DsException(StatusCode.NOT_FOUND, "devSubscribe of "
                            + keys.get(i) + " failed: not published within " + timeoutMs + " ms, or not readable"));
                    }
                    futures.get(i).complete(null);
                }
            }
            catch (final RuntimeException e)
            {
                futures.forEach(future -> future.completeExceptionally(e));
            }
        });
        return futures;
    }

    List<String> delete(final List<String> keys, final int mode)
    {
        io.ds4j.common.KeyRules.checkReadBatch(keys);
        final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
        {
            DevDeleteCodec.writeRequest(connection.begin(MessageType.DEV_DELETE), mode, keys);
            return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        });
        if (mode != DevDeleteCodec.RECEIVED)
        {
            staging.deleted(keys);
        }
        final FailedKeys failed = new FailedKeys();
        for (final BatchCodec.Failure failure : failures)
        {
            failed.add(failure.key(), new DsException(failure.code(), failure.message()));
        }
        return failed.result(keys.size(), mode == DevDeleteCodec.LOCAL ? "devLocalDelete" : "devDelete");
    }

    private static List<CompletableFuture<Void>> futures(final int count)
    {
        final List<CompletableFuture<Void>> futures = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            futures.add(new CompletableFuture<>());
        }
        return futures;
    }
}
