package io.ds4j.worker.meta;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Keeps the retirements of one key's copies in the order of the key's changes. A change that replaced or removed a
 * record retires the old version's copies after the record changed, outside the key's lock (a holder may be a
 * network round trip away). Without an order, the next change could be acknowledged while the previous one's
 * retirements were still on their way: a write acknowledged after a delete, or a second overwrite, while a reader
 * elsewhere could still read the version before them (the fault suite's history check found exactly that). So each
 * change takes a turn inside the key's compute, and answers only once every earlier turn of the key has finished.
 */
final class RetirementOrder
{
    /** A turn whose retirements take longer than this (5 s bounds each holder's call) is not waited for further. */
    private static final long WAIT_MS = 15_000;
    private static final Logger LOG = LoggerFactory.getLogger(RetirementOrder.class);

    private final ConcurrentHashMap<String, CompletableFuture<Void>> last = new ConcurrentHashMap<>();

    /** One change's place in its key's order. */
    final class Turn
    {
        private final String key;
        private final CompletableFuture<Void> mine;
        private final CompletableFuture<Void> earlier;

        private Turn(final String key, final CompletableFuture<Void> mine, final CompletableFuture<Void> earlier)
        {
            this.key = key;
            this.mine = mine;
            this.earlier = earlier;
        }

        /** Call after this change's own retirements: waits for the earlier turns, then ends this one. */
        void finish()
        {
            try
            {
                await(earlier, key);
            }
            finally
            {
                mine.complete(null);
                last.remove(key, mine);
            }
        }
    }

    /** Takes the next turn of {@code key}; call inside the key's compute, where the change happens. */
    Turn enter(final String key)
    {
        final CompletableFuture<Void> mine = new CompletableFuture<>();
        return new Turn(key, mine, last.put(key, mine));
    }

    /** Waits until the turns of {@code key} taken so far have finished (a change that found nothing to change). */
    void awaitPending(final String key)
    {
        await(last.get(key), key);
    }

    private static void await(final CompletableFuture<Void> turn, final String key)
    {
        if (turn == null)
        {
            return;
        }
        try
        {
            turn.get(WAIT_MS, TimeUnit.MILLISECONDS);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        catch (final ExecutionException | TimeoutException e)
        {
            LOG.warn("the retirements of an earlier change of {} did not finish within {} ms; going on", key,
                WAIT_MS);
        }
    }
}
