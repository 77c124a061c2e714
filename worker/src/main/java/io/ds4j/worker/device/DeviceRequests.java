package io.ds4j.worker.device;

import io.ds4j.common.DsException;
import io.ds4j.common.protocol.BatchCodec;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.DevAwaitCodec;
import io.ds4j.common.protocol.DevDeleteCodec;
import io.ds4j.common.protocol.DevMgetCodec;
import io.ds4j.common.protocol.DevMsetCodec;
import io.ds4j.common.protocol.DevStageCodec;
import io.ds4j.common.protocol.MessageType;

import java.util.ArrayList;
import java.util.List;

/**
 * Answers the device-object messages of one connection (docs/protocol.md, sections 5.22 to 5.28) on the
 * {@link DeviceObjectRegistry}. The connection handler dispatches here from its switch with the session's client id.
 * One instance per connection, used by its thread only.
 */
public final class DeviceRequests
{
    private final DeviceObjectRegistry registry;
    private final List<String> keys = new ArrayList<>();
    private final BatchCodec.FailedKeys failed = new BatchCodec.FailedKeys();

    public DeviceRequests(final DeviceObjectRegistry registry)
    {
        this.registry = registry;
    }

    public void mset(final BodyReader request, final BodyWriter out, final long clientId)
    {
        final int flags = DevMsetCodec.readFlags(request);
        final List<DevMsetCodec.Item> items = DevMsetCodec.readItems(request);
        out.beginResponse(MessageType.DEV_MSET, request.correlationId(), 0);
        failed.begin(out);
        registry.register(clientId, items, (flags & DevMsetCodec.ONE_SHOT) != 0, failed::add);
        failed.finish();
    }

    public void mget(final BodyReader request, final BodyWriter out) throws InterruptedException
    {
        final int flags = DevMgetCodec.readFlags(request);
        final long subTimeoutMs = DevMgetCodec.readSubTimeoutMs(request);
        DevMgetCodec.readKeys(request, keys);
        final DevMgetCodec.Entry[] entries = registry.get(keys, Math.max(0, subTimeoutMs),
            (flags & DevMgetCodec.SUBSCRIBE) != 0);
        out.beginResponse(MessageType.DEV_MGET, request.correlationId(), 0);
        DevMgetCodec.writeEntryCount(out, entries.length);
        for (final DevMgetCodec.Entry entry : entries)
        {
            if (entry.found())
            {
                DevMgetCodec.writeFound(out, entry.producerClientId(), entry.descriptor());
            }
            else
            {
                DevMgetCodec.writeMissing(out, entry.status(), entry.message());
            }
        }
    }

    public void delete(final BodyReader request, final BodyWriter out, final long clientId)
    {
        final int mode = DevDeleteCodec.readMode(request);
        DevDeleteCodec.readKeys(request, keys);
        out.beginResponse(MessageType.DEV_DELETE, request.correlationId(), 0);
        failed.begin(out);
        for (final String key : keys)
        {
            try
            {
                switch (mode)
                {
                    case DevDeleteCodec.GLOBAL -> registry.delete(key);
                    case DevDeleteCodec.LOCAL -> registry.deleteLocal(clientId, key);
                    default -> registry.received(key);
                }
            }
            catch (final DsException e)
            {
                failed.add(key, e);
            }
        }
        failed.finish();
    }

    public void stage(final BodyReader request, final BodyWriter out)
    {
        final List<DevStageCodec.Pair> pairs = DevStageCodec.readPairs(request, false);
        out.beginResponse(MessageType.DEV_STAGE, request.correlationId(), 0);
        failed.begin(out);
        registry.requestStaging(pairs, failed::add);
        failed.finish();
    }

    public void serve(final BodyReader request, final BodyWriter out, final long clientId) throws InterruptedException
    {
        final long waitMs = DevStageCodec.readServeRequest(request);
        final List<DevStageCodec.Pair> pairs = registry.awaitStaging(clientId, Math.max(0, waitMs));
        out.beginResponse(MessageType.DEV_SERVE, request.correlationId(), 0);
        DevStageCodec.writePairs(out, pairs);
    }

    public void await(final BodyReader request, final BodyWriter out, final long clientId) throws InterruptedException
    {
        final long timeoutMs = DevAwaitCodec.readTimeoutMs(request);
        DevAwaitCodec.readKeys(request, keys);
        out.beginResponse(MessageType.DEV_AWAIT, request.correlationId(), 0);
        failed.begin(out);
        registry.awaitReceipt(clientId, keys, Math.max(0, timeoutMs), failed::add);
        failed.finish();
    }
}
