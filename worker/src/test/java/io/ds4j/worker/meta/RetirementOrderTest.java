package io.ds4j.worker.meta;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.meta.MetadataOwner.PublishResult;
import io.ds4j.worker.store.Removal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A change of a key is not answered while an earlier change's retirements of that key are still on their way: else
 * a write acknowledged after a delete (or a second overwrite) leaves a reader at a slow holder reading the version
 * before both (found by ClusterFaultTest's history check).
 */
class RetirementOrderTest
{
    private final CountDownLatch slowHolderAnswers = new CountDownLatch(1);
    private final CountDownLatch slowHolderAsked = new CountDownLatch(1);
    private final LocalMetadataOwner owner = new LocalMetadataOwner(new CopyHolders()
    {
        @Override
        public void retire(final String holder, final String key, final long version, final Removal why)
        {
            if (holder.equals("slow"))
            {
                slowHolderAsked.countDown();
                try
                {
                    slowHolderAnswers.await();
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public void promote(final String holder, final String key, final long version)
        {
        }

        @Override
        public void expiryChanged(final String holder, final String key, final long version, final long at)
        {
        }
    });

    @AfterEach
    void close()
    {
        slowHolderAnswers.countDown();
        owner.close();
    }

    private static KeyMeta meta(final long version, final String primary)
    {
        return new KeyMeta(version, 10, WriteMode.NONE_L2_CACHE, ConsistencyType.CAUSAL, 0, primary);
    }

    private <T> FutureTask<T> inBackground(final java.util.concurrent.Callable<T> call)
    {
        final FutureTask<T> task = new FutureTask<>(call);
        Thread.ofVirtual().start(task);
        return task;
    }

    private void assertAnsweredOnlyAfterTheSlowHolder(final FutureTask<?> earlier, final FutureTask<?> later)
        throws Exception
    {
        assertThrows(TimeoutException.class, () -> later.get(300, TimeUnit.MILLISECONDS),
            "answered while the earlier change's retirement was still on its way");
        slowHolderAnswers.countDown();
        earlier.get(5, TimeUnit.SECONDS);
        later.get(5, TimeUnit.SECONDS);
    }

    @Test
    void aCreateAfterADeleteWaitsForTheDeletesRetirements() throws Exception
    {
        owner.publish("k", meta(1, "A"), ExistenceOpt.NONE);
        owner.addCopy("k", 1, "slow");
        final FutureTask<Boolean> delete = inBackground(() -> owner.delete("k"));
        assertTrue(slowHolderAsked.await(5, TimeUnit.SECONDS));
        final FutureTask<PublishResult> create = inBackground(() -> owner.publish("k", meta(2, "B"),
            ExistenceOpt.NONE));
        assertAnsweredOnlyAfterTheSlowHolder(delete, create);
        assertEquals(PublishResult.CREATED, create.get());
    }

    @Test
    void aSecondOverwriteWaitsForTheFirstOnesRetirements() throws Exception
    {
        owner.publish("k", meta(1, "A"), ExistenceOpt.NONE);
        owner.addCopy("k", 1, "slow");
        final FutureTask<PublishResult> first = inBackground(() -> owner.publish("k", meta(2, "B"),
            ExistenceOpt.NONE));
        assertTrue(slowHolderAsked.await(5, TimeUnit.SECONDS));
        final FutureTask<PublishResult> second = inBackground(() -> owner.publish("k", meta(3, "C"),
            ExistenceOpt.NONE));
        assertAnsweredOnlyAfterTheSlowHolder(first, second);
    }

    @Test
    void aDeleteThatFindsNothingWaitsForTheDeleteBeforeIt() throws Exception
    {
        owner.publish("k", meta(1, "A"), ExistenceOpt.NONE);
        owner.addCopy("k", 1, "slow");
        final FutureTask<Boolean> first = inBackground(() -> owner.delete("k"));
        assertTrue(slowHolderAsked.await(5, TimeUnit.SECONDS));
        final FutureTask<Boolean> second = inBackground(() -> owner.delete("k"));
        assertAnsweredOnlyAfterTheSlowHolder(first, second);
        assertEquals(false, second.get());
    }

    @Test
    void otherKeysDoNotWait() throws Exception
    {
        owner.publish("k", meta(1, "A"), ExistenceOpt.NONE);
        owner.addCopy("k", 1, "slow");
        final FutureTask<Boolean> delete = inBackground(() -> owner.delete("k"));
        assertTrue(slowHolderAsked.await(5, TimeUnit.SECONDS));
        assertEquals(PublishResult.CREATED, inBackground(() -> owner.publish("other", meta(2, "B"),
            ExistenceOpt.NONE)).get(2, TimeUnit.SECONDS));
        slowHolderAnswers.countDown();
        delete.get(5, TimeUnit.SECONDS);
    }
}
