package io.ds4j.worker.peer;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.meta.CopyHolders;
import io.ds4j.worker.meta.LocalMetadataOwner;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.store.Removal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** enable_redirect: a NOT_OWNER answer is followed (on) or handed to the client as TRY_AGAIN at once (off). */
class RoutingOwnerRedirectTest
{
    private static final String SELF = "127.0.0.1:1";
    private static final KeyMeta META = new KeyMeta(1, 10, WriteMode.NONE_L2_CACHE, ConsistencyType.CAUSAL, 0, SELF);

    private final AtomicInteger notOwnerAnswersLeft = new AtomicInteger();
    private final AtomicInteger calls = new AtomicInteger();
    private final LocalMetadataOwner records = new LocalMetadataOwner(new CopyHolders()
    {
        @Override
        public void retire(final String holder, final String key, final long version, final Removal why)
        {
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
    /** This worker's owner role while its ranges move: NOT_OWNER for the first calls, then it answers. */
    private final MetadataOwner moving = (MetadataOwner) java.lang.reflect.Proxy.newProxyInstance(
        MetadataOwner.class.getClassLoader(), new Class<?>[] {MetadataOwner.class}, (proxy, method, args) ->
        {
            calls.incrementAndGet();
            if (notOwnerAnswersLeft.getAndDecrement() > 0)
            {
                throw new DsException(StatusCode.NOT_OWNER, "not the owner yet");
            }
            try
            {
                return method.invoke(records, args);
            }
            catch (final java.lang.reflect.InvocationTargetException e)
            {
                throw e.getCause();
            }
        });
    private final PeerClients peers = new PeerClients(SELF, null, 1, 1_000);

    @AfterEach
    void close()
    {
        peers.close();
        records.close();
    }

    @Test
    void withRedirectsACallFollowsNotOwnerUntilTheOwnerAnswers()
    {
        final RoutingOwner owner = new RoutingOwner(SELF, () -> HashRing.standalone(SELF), moving, peers, true);
        notOwnerAnswersLeft.set(3);
        assertEquals(MetadataOwner.PublishResult.CREATED, owner.publish("k", META, ExistenceOpt.NONE));
        assertEquals(4, calls.get());
    }

    @Test
    void withoutRedirectsTheFirstNotOwnerIsTryAgain()
    {
        final RoutingOwner owner = new RoutingOwner(SELF, () -> HashRing.standalone(SELF), moving, peers, false);
        notOwnerAnswersLeft.set(3);
        final DsException e = assertThrows(DsException.class, () -> owner.publish("k", META, ExistenceOpt.NONE));
        assertEquals(StatusCode.TRY_AGAIN, e.code());
        assertEquals(1, calls.get());
    }
}
