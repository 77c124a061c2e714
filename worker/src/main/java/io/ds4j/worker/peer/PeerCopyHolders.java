package io.ds4j.worker.peer;

import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.meta.CopyHolders;
import io.ds4j.worker.store.Removal;

/** An owner's messages to holders: this worker's copies directly, another worker's over the peer link. */
public final class PeerCopyHolders implements CopyHolders
{
    private final String self;
    private final DataPlane data;
    private final PeerClients peers;

    public PeerCopyHolders(final String self, final DataPlane data, final PeerClients peers)
    {
        this.self = self;
        this.data = data;
        this.peers = peers;
    }

    @Override
    public void retire(final String holder, final String key, final long version, final Removal why)
    {
        if (holder.equals(self))
        {
            data.retire(key, version, why);
        }
        else
        {
            peers.retire(holder, key, version, why);
        }
    }

    @Override
    public void promote(final String holder, final String key, final long version)
    {
        if (holder.equals(self))
        {
            data.promote(key, version);
        }
        else
        {
            peers.promote(holder, key, version);
        }
    }

    @Override
    public void expiryChanged(final String holder, final String key, final long version, final long expiresAtMs)
    {
        if (holder.equals(self))
        {
            data.expiryChanged(key, version, expiresAtMs);
        }
        else
        {
            peers.expiryChanged(holder, key, version, expiresAtMs);
        }
    }
}
