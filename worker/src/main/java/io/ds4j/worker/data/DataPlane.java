package io.ds4j.worker.data;

import io.ds4j.worker.meta.CopyHolders;
import io.ds4j.worker.meta.LocalMetadataOwner;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.store.LocalCopies;
import io.ds4j.worker.store.Removal;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.TieredStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Function;

/**
 * This node's side of the data: its tiers, the copies it holds, the way to the owners of keys, and the one
 * {@link Publisher} and one {@link Resolver} every interface (KV, objects, and later devices and streams) goes
 * through. It is also the holder side of the owner's messages: {@link #retire} and {@link #expiryChanged} are what
 * an owner's {@link CopyHolders} call does on this worker.
 */
public final class DataPlane implements AutoCloseable
{
    private final Admission admission = new Admission();

    private static final Logger LOG = LoggerFactory.getLogger(DataPlane.class);

    private final String self;
    private final TieredStore store;
    private final LocalCopies copies = new LocalCopies();
    private final MetadataOwner owner;
    private final Publisher publisher;
    private final Resolver resolver;

    /**
     * @param owners builds the way to the owners, given how they reach this worker's copies (a standalone worker
     *               passes {@code LocalMetadataOwner::new}: it owns every key)
     */
    public DataPlane(final String self, final TieredStore store, final Function<CopyHolders, MetadataOwner> owners,
        final PrimaryFetcher fetcher, final boolean replication, final Function<DataPlane, CopyHolders> holders)
    {
        this.self = self;
        this.store = store;
        copies.addRemovalListener(store::removed);
        this.owner = owners.apply(holders.apply(this));
        this.publisher = new Publisher(self, store, copies, owner, admission);
        this.resolver = new Resolver(self, store, copies, owner, publisher, fetcher, replication, admission);
        store.onEvicted(this::evicted);
    }

    /** A standalone worker's data plane: it owns every key and holds every copy. */
    public static DataPlane standalone(final String self, final TieredStore store)
    {
        return new DataPlane(self, store, LocalMetadataOwner::new, PrimaryFetcher.NONE, false,
            plane -> new CopyHolders()
            {
                @Override
                public void retire(final String holder, final String key, final long version, final Removal why)
                {
                    plane.retire(key, version, why);
                }

                @Override
                public void promote(final String holder, final String key, final long version)
                {
                    plane.promote(key, version);
                }

                @Override
                public void expiryChanged(final String holder, final String key, final long version,
                    final long expiresAtMs)
                {
                    plane.expiryChanged(key, version, expiresAtMs);
                }
            });
    }

    public TieredStore store()
    {
        return store;
    }

    public LocalCopies copies()
    {
        return copies;
    }

    public MetadataOwner owner()
    {
        return owner;
    }

    public Publisher publisher()
    {
        return publisher;
    }

    public Resolver resolver()
    {
        return resolver;
    }

    /** The key's L2 record as this node's primary copy (expire() of a key no worker holds); null when none. */
    public StoreEntry loadFromL2(final String key)
    {
        return resolver.loadFromL2(key);
    }

    /**
     * The owner retired versions of a key up to {@code version}: this node's copy of them goes, and a copy of them
     * still being installed here is refused ({@link LocalCopies#retire} leaves a tombstone).
     */
    public void retire(final String key, final long version, final Removal why)
    {
        copies.retire(key, version, why);
    }

    /**
     * From now on gets and publishes are refused with NOT_READY whenever {@code reason} gives one (a cluster worker's
     * {@code MembershipFence}).
     */
    public void refuseWhen(final java.util.function.Supplier<String> reason)
    {
        admission.fence(reason);
    }

    /**
     * A lossless exit begins: from now on every get and publish of this node's clients is refused with SCALE_DOWN and
     * {@code why} (its copies are about to be given up, and an owner no longer retires what it gave up); returns once
     * the publishes already under way finished, or after {@code timeout}.
     *
     * @return whether they all finished
     */
    public boolean refuseClients(final String why, final java.time.Duration timeout) throws InterruptedException
    {
        admission.leaving(why);
        return publisher.awaitPublishes(timeout);
    }

    /** The owner made this node's replica of {@code version} the key's primary copy. */
    public void promote(final String key, final long version)
    {
        final StoreEntry entry = copies.any(key);
        if (entry != null && entry.version() == version && entry.replica())
        {
            entry.promote();
        }
    }

    /** The owner changed the key's TTL: this node's copy of {@code version} expires then (and its L2 record). */
    public void expiryChanged(final String key, final long version, final long expiresAtMs)
    {
        final StoreEntry entry = copies.any(key);
        if (entry != null && entry.version() == version)
        {
            entry.expiresAtMs(expiresAtMs);
            store.expiryChanged(entry);
        }
    }

    /**
     * The evictor let a copy go (it holds the entry's stripe lock): it stops being this node's copy now, and its
     * owner hears of it afterwards, off this thread, because the owner may be a network round trip away.
     */
    private boolean evicted(final StoreEntry entry)
    {
        if (!copies.removeIfCurrent(entry, Removal.DROPPED))
        {
            return false;
        }
        Thread.ofVirtual().name("ds4j-evicted").start(() ->
        {
            try
            {
                if (entry.replica())
                {
                    owner.removeCopy(entry.key(), entry.version(), self);
                }
                else
                {
                    owner.dropped(entry.key(), entry.version(), self);
                }
            }
            catch (final RuntimeException e)
            {
                LOG.warn("could not tell the owner of {} that it was evicted here: {}", entry, e.toString());
            }
        });
        return true;
    }

    /** Periodic upkeep (housekeeping thread). */
    public void housekeeping()
    {
        copies.purgeTombstones();
    }

    @Override
    public void close()
    {
        owner.close();
    }
}
