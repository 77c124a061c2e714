package io.ds4j.client.hetero;

import io.ds4j.client.KvClient;
import io.ds4j.client.SetParam;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.DevDeleteCodec;
import io.ds4j.device.DeviceMemory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Device (GPU) memory in the data system (upstream HeteroClient, spec §1.5), reached as {@code client.hetero()}.
 * Two pairs of calls:
 * <ul>
 *   <li>host-side swap: {@link #msetD2H} gathers each key's device fragments into one host object in the worker's
 *   pool (an ordinary KV value, so any worker of the cluster can serve it), and {@link #mgetH2D} scatters it back into
 *   the same number of fragments of the same sizes; {@link #delete} removes the host objects;</li>
 *   <li>device-resident objects: {@link #devMset} registers device memory under keys while the bytes stay on the
 *   producer's device, {@link #devMget} copies them device to device into the caller's blobs; {@link #devPublish} /
 *   {@link #devSubscribe} hand an object over once; {@link #devDelete} and {@link #devLocalDelete} remove them. A
 *   device object lives as long as its producer's session.</li>
 * </ul>
 * Batches hold at most 10,000 keys. Batch calls return the keys that failed (for the device-resident calls as
 * {@code "key,deviceIdx"}, as upstream) and throw only when every key failed, with the first failure's code.
 *
 * <pre>{@code
 * HeteroClient hetero = client.hetero();
 * List<DeviceBlobList> blocks = List.of(
 *     new DeviceBlobList(0, List.of(new Blob(kPtr, 1 << 20), new Blob(vPtr, 1 << 20))));
 * hetero.msetD2H(List.of("layer0-block7"), blocks, SetParam.DEFAULT);
 * List<String> failed = hetero.mgetH2D(List.of("layer0-block7"), blocks, 1000);
 * }</pre>
 */
public final class HeteroClient implements AutoCloseable
{
    private final DeviceMemory device;
    private final boolean ownsDevice;
    private final HostSwap swap;
    private final DeviceObjects objects;
    /** Async calls and hand-off waits: virtual threads, since they mostly wait on the worker or the device thread. */
    private final ExecutorService executor = Executors.newThreadPerTaskExecutor(
        Thread.ofVirtual().name("ds4j-hetero-", 0).factory());

    /**
     * For {@link io.ds4j.client.DsClient#hetero()}: a hetero client over the client's link.
     *
     * @param ownsDevice whether {@link #close} closes {@code device}
     */
    public HeteroClient(final WorkerLink link, final KvClient kv, final DeviceMemory device, final boolean ownsDevice)
    {
        this.device = device;
        this.ownsDevice = ownsDevice;
        this.swap = new HostSwap(kv, link, device);
        this.objects = new DeviceObjects(link, device, executor, swap);
    }

    /** The device memory in use: CUDA, or host memory where no GPU was found. */
    public DeviceMemory deviceMemory()
    {
        return device;
    }

    // ---------------------------------------------------------------- host-side swap

    /**
     * Gathers each key's device fragments into one host object (fragment layout in front, then the fragments back to
     * back), stored with {@code param} (NX is not supported, as for mcreate).
     *
     * @return the keys that failed
     * @throws DsException when all keys failed; INVALID for a bad batch (keys and blob lists not aligned, more than
     *                     10,000 keys, a device that does not exist)
     */
    public List<String> msetD2H(final List<String> keys, final List<DeviceBlobList> blobLists, final SetParam param)
    {
        return swap.msetD2H(keys, blobLists, param);
    }

    public List<String> msetD2H(final List<String> keys, final List<DeviceBlobList> blobLists)
    {
        return msetD2H(keys, blobLists, SetParam.DEFAULT);
    }

    /**
     * Scatters each key's host object back into its blobs, which must be as many and as big as the fragments it was
     * stored from; waits up to {@code subTimeoutMs} for keys not set yet.
     *
     * @return the keys that failed: missing, or stored with other fragments
     * @throws DsException NOT_FOUND when none of the keys exists; the first failure's code when all failed
     */
    public List<String> mgetH2D(final List<String> keys, final List<DeviceBlobList> blobLists, final long subTimeoutMs)
    {
        if (subTimeoutMs < 0)
        {
            throw new DsException(StatusCode.INVALID, "subTimeoutMs must be 0 (no waiting) or positive");
        }
        return swap.mgetH2D(keys, blobLists, subTimeoutMs);
    }

    /** {@link #msetD2H} on a virtual thread; the future holds the failed keys or the exception. */
    public CompletableFuture<List<String>> asyncMsetD2H(final List<String> keys, final List<DeviceBlobList> blobLists,
        final SetParam param)
    {
        return CompletableFuture.supplyAsync(() -> msetD2H(keys, blobLists, param), executor);
    }

    /** {@link #mgetH2D} on a virtual thread; the future holds the failed keys or the exception. */
    public CompletableFuture<List<String>> asyncMgetH2D(final List<String> keys, final List<DeviceBlobList> blobLists,
        final long subTimeoutMs)
    {
        return CompletableFuture.supplyAsync(() -> mgetH2D(keys, blobLists, subTimeoutMs), executor);
    }

    /** Deletes host objects (ordinary KV keys); returns the keys that failed. */
    public List<String> delete(final List<String> keys)
    {
        return swap.delete(keys);
    }

    // ---------------------------------------------------------------- device-resident objects

    /**
     * Registers the blobs under the keys; the bytes stay where they are, so keep the memory allocated and unchanged
     * until the objects are deleted. A key that exists fails (devDelete it first).
     *
     * @return failed keys as {@code "key,deviceIdx"}
     */
    public List<String> devMset(final List<String> keys, final List<DeviceBlobList> blobLists)
    {
        return objects.devMset(keys, blobLists, false);
    }

    /**
     * Copies device objects into the caller's blobs (as many and as big as the producer's): on the same host device to
     * device through the producer's IPC handles; from another host through a host object the producer's client
     * stages on request (D2H, the data plane, H2D; waiting at least 30 s for it). Waits up to {@code subTimeoutMs}
     * for keys not registered yet.
     *
     * @return failed keys as {@code "key,deviceIdx"}: missing, producer gone, other fragments, or on another host
     */
    public List<String> devMget(final List<String> keys, final List<DeviceBlobList> blobLists,
        final long subTimeoutMs)
    {
        return objects.devMget(keys, blobLists, subTimeoutMs, false);
    }

    /**
     * One-shot hand-off: registers the blobs; each key's future completes when a subscriber received it (the object
     * is then deleted and the memory is the caller's again), or fails after 60 s (FUTURE_TIMEOUT).
     */
    public List<CompletableFuture<Void>> devPublish(final List<String> keys, final List<DeviceBlobList> blobLists)
    {
        return objects.devPublish(keys, blobLists, DeviceObjects.DEFAULT_HANDOFF_TIMEOUT_MS);
    }

    /** Receives published objects into the blobs; each key's future completes once its bytes are there. */
    public List<CompletableFuture<Void>> devSubscribe(final List<String> keys, final List<DeviceBlobList> blobLists)
    {
        return devSubscribe(keys, blobLists, DeviceObjects.DEFAULT_HANDOFF_TIMEOUT_MS);
    }

    public List<CompletableFuture<Void>> devSubscribe(final List<String> keys, final List<DeviceBlobList> blobLists,
        final long timeoutMs)
    {
        return objects.devSubscribe(keys, blobLists, timeoutMs);
    }

    /** Deletes device objects, whoever registered them; a missing key is not a failure. */
    public List<String> devDelete(final List<String> keys)
    {
        return objects.delete(keys, DevDeleteCodec.GLOBAL);
    }

    public CompletableFuture<List<String>> asyncDevDelete(final List<String> keys)
    {
        return CompletableFuture.supplyAsync(() -> devDelete(keys), executor);
    }

    /** Deletes only the device objects this client registered (upstream: this client's replica). */
    public List<String> devLocalDelete(final List<String> keys)
    {
        return objects.delete(keys, DevDeleteCodec.LOCAL);
    }

    @Override
    public void close()
    {
        objects.close();
        executor.shutdown();
        swap.close();
        if (ownsDevice)
        {
            device.close();
        }
    }
}
