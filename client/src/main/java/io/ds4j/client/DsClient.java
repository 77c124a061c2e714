package io.ds4j.client;

import io.ds4j.client.hetero.HeteroClient;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.device.DeviceMemories;

/**
 * The entry point of the SDK: a connection to the worker of this node (or the one given). Values move through the
 * worker's shared-memory pool when the worker is on this host, inline over TCP otherwise.
 *
 * <pre>{@code
 * try (DsClient client = DsClient.connect("127.0.0.1", 31501)) {
 *     client.kv().set("req-42:0_1", payload);
 * }
 * }</pre>
 */
public final class DsClient implements AutoCloseable
{
    private final WorkerLink link;
    private final KvClient kv;
    private final ObjectClient object;
    /** Made on first use: it probes for a GPU. */
    private HeteroClient hetero;

    private DsClient(final WorkerLink link)
    {
        this.link = link;
        this.kv = new KvClient(link);
        this.object = new ObjectClient(link);
    }

    /**
     * Connects with default options (connect timeout 9 s, shared memory when possible).
     *
     * @throws io.ds4j.common.DsException RPC_UNAVAILABLE when no worker answers there
     */
    public static DsClient connect(final String host, final int port)
    {
        return connect(ConnectOptions.builder(host, port).build());
    }

    public static DsClient connect(final ConnectOptions options)
    {
        return new DsClient(WorkerLink.connect(options));
    }

    /** The KV interface. */
    public KvClient kv()
    {
        return kv;
    }

    /** The object interface: ref-counted objects with buffers, latches and nested references. */
    public ObjectClient object()
    {
        return object;
    }

    /**
     * The device-memory interface (upstream HeteroClient): CUDA when this process finds the runtime and a GPU, host
     * memory otherwise (system property {@code ds4j.device=auto|cuda|host}); made on first call, on the process's
     * one device memory ({@code DeviceMemories.shared()}).
     */
    public synchronized HeteroClient hetero()
    {
        if (hetero == null)
        {
            hetero = new HeteroClient(link, kv, DeviceMemories.shared(), false);
        }
        return hetero;
    }

    /** True when values move through shared memory rather than inline over TCP. */
    public boolean usesSharedMemory()
    {
        return link.state().sharedMemory();
    }

    /** The worker's address as it reported it (its id in the cluster). */
    public String workerAddress()
    {
        return link.state().workerAddress();
    }

    @Override
    public void close()
    {
        synchronized (this)
        {
            if (hetero != null)
            {
                hetero.close();
            }
        }
        link.close();
    }
}
