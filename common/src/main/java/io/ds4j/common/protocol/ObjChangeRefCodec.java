package io.ds4j.common.protocol;

import io.ds4j.common.DsException;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * {@code OBJ_INC_REF} and {@code OBJ_DEC_REF} (docs/protocol.md 5.18). Request: remote client id (string, "" or
 * null for the session itself), then a key list (1..10,000). Reply: a failed-keys body
 * ({@link BatchCodec.FailedKeys}).
 */
public final class ObjChangeRefCodec
{
    private ObjChangeRefCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String remoteClientId, final List<String> keys)
    {
        out.putString(remoteClientId);
        BatchCodec.writeKeys(out, keys);
    }

    /**
     * A reusable decoder of one request at a time (one per connection). The remote client id goes to the reader's
     * own holder type as soon as it is read, so a bad id fails the request before the keys are read.
     */
    public static final class Request<H>
    {
        private final List<String> keys = new ArrayList<>();
        private H holder;

        /**
         * @param holder maps the remote client id and {@code context} to the holder; a static method reference
         *               allocates nothing per call
         * @throws DsException INVALID for 0 keys or more than 10,000; what {@code holder} throws
         */
        public <C> void read(final BodyReader in, final C context, final BiFunction<String, C, H> holder)
        {
            this.holder = holder.apply(in.getString(), context);
            BatchCodec.readKeys(in, keys);
        }

        public H holder()
        {
            return holder;
        }

        /** The keys, reused by the next {@link #read}. */
        public List<String> keys()
        {
            return keys;
        }
    }
}
