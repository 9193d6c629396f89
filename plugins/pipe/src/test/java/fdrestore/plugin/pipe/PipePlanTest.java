package fdrestore.plugin.pipe;

import static fdrestore.api.sys.Linux.O_NONBLOCK;
import static fdrestore.api.sys.Linux.O_RDONLY;
import static fdrestore.api.sys.Linux.O_RDWR;
import static fdrestore.api.sys.Linux.O_WRONLY;
import static fdrestore.plugin.pipe.Fixtures.fle;
import static fdrestore.plugin.pipe.Fixtures.member;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.Stage;
import fdrestore.plugin.pipe.Flags.End;
import fdrestore.plugin.pipe.PipePlan.Delivery;
import fdrestore.plugin.pipe.PipePlan.Member;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Who creates a pipe and what every other description receives, decided before any syscall. */
class PipePlanTest {
    private static final long PIPE = 421542;

    private static PipePlan plan(Member... members) {
        return PipePlan.of(PIPE, List.of(members), PipeData.none(PIPE));
    }

    private static Delivery deliveryTo(PipePlan p, long fileId) {
        return p.deliveries.stream().filter(d -> d.to().fileId() == fileId).findFirst().orElseThrow();
    }

    @Test
    void creatorIsTheDescriptionWhoseMasterComesFirstWhateverTheOrder() {
        List<Member> ms = new ArrayList<>(List.of(
                member(5, O_RDONLY, fle(30513, 100), fle(30508, 3)),
                member(6, O_WRONLY, fle(30508, 4), fle(30512, 4)),
                member(9, O_RDONLY, fle(30508, 2)),
                member(11, O_WRONLY, fle(30600, 1))));
        Random rnd = new Random(42);
        for (int i = 0; i < 20; i++) {
            Collections.shuffle(ms, rnd);
            PipePlan p = PipePlan.of(PIPE, ms, PipeData.none(PIPE));
            assertEquals(9, p.creator.fileId(), p.toString());
            assertEquals(3, p.deliveries.size());
        }
    }

    @Test
    void twoEndsTheOtherEndGoesDirectlyAndNothingIsUnused() {
        PipePlan p = plan(member(5, O_RDONLY, fle(1, 3)), member(6, O_WRONLY, fle(2, 4)));
        assertEquals(5, p.creator.fileId());
        assertEquals(List.of(new Delivery(p.deliveries.get(0).to(), End.WRITE, true, true)), p.deliveries);
        assertEquals(6, p.deliveries.get(0).to().fileId());
        assertEquals(List.of(), p.unusedEnds);
        assertInstanceOf(PipeCreator.class, p.restorer(5));
        assertInstanceOf(PipePeer.class, p.restorer(6));
    }

    @Test
    void aWriterCreatorHandsTheReadEndToTheFirstReaderAndCopiesToTheOthers() {
        PipePlan p = plan(member(1, O_WRONLY, fle(1, 4)), member(2, O_RDONLY, fle(2, 3)),
                member(3, O_RDONLY | O_NONBLOCK, fle(3, 3)));
        assertEquals(1, p.creator.fileId());
        assertEquals(new Delivery(deliveryTo(p, 2).to(), End.READ, true, true), deliveryTo(p, 2));
        assertEquals(new Delivery(deliveryTo(p, 3).to(), End.READ, false, false), deliveryTo(p, 3));
        assertEquals(List.of(), p.unusedEnds);
    }

    @Test
    void anEndTheCreatorKeepsIsCopiedForOtherUsersWhoReopenIt() {
        PipePlan p = plan(member(1, O_RDONLY, fle(1, 3)), member(2, O_RDONLY, fle(2, 3)),
                member(3, O_WRONLY, fle(2, 4)));
        Delivery d2 = deliveryTo(p, 2);
        assertEquals(End.READ, d2.source());
        assertTrue(!d2.original() && !d2.direct(), d2.toString());
        Delivery d3 = deliveryTo(p, 3);
        assertTrue(d3.original() && d3.direct(), d3.toString());
    }

    @Test
    void anEndNobodyWantsIsClosed() {
        assertEquals(List.of(1), plan(member(1, O_RDONLY, fle(1, 3))).unusedEnds);
        assertEquals(List.of(0), plan(member(1, O_WRONLY, fle(1, 3))).unusedEnds);
        PipePlan readers = plan(member(1, O_RDONLY, fle(1, 3)), member(2, O_RDONLY, fle(1, 5)));
        assertEquals(List.of(1), readers.unusedEnds);
        assertTrue(!deliveryTo(readers, 2).original(), "the creator keeps the read end: the other reader gets a copy");
    }

    @Test
    void withoutADirectUserTheLastReopenerGetsTheOriginalInsteadOfACopy() {
        PipePlan p = plan(member(1, O_WRONLY, fle(1, 4)), member(2, O_RDWR, fle(2, 3)), member(3, O_RDWR, fle(3, 3)));
        Delivery d2 = deliveryTo(p, 2);
        Delivery d3 = deliveryTo(p, 3);
        assertEquals(End.READ, d2.source());
        assertTrue(!d2.original() && !d2.direct(), d2.toString());
        assertTrue(d3.original() && !d3.direct(), d3.toString());
        assertEquals(List.of(), p.unusedEnds);
    }

    @Test
    void anRdwrCreatorReopensAndBothOriginalEndsAreHandledOut() {
        PipePlan p = plan(member(1, O_RDWR, fle(1, 3)));
        assertEquals(List.of(0, 1), p.unusedEnds);
        PipePlan q = plan(member(1, O_RDWR, fle(1, 3)), member(2, O_WRONLY, fle(1, 4)));
        assertEquals(List.of(0), q.unusedEnds);
        assertTrue(deliveryTo(q, 2).direct());
    }

    @Test
    void peersDependOnTheCreatorBeingOpen() {
        PipePlan p = plan(member(5, O_RDONLY, fle(1, 3)), member(6, O_WRONLY, fle(2, 4)));
        List<Dependency> deps = p.restorer(6).dependencies();
        assertEquals(1, deps.size());
        assertEquals(5, deps.get(0).fileId());
        assertEquals(Stage.OPEN, deps.get(0).stage());
        assertTrue(deps.get(0).gatesOpen());
        assertEquals(List.of(), p.restorer(5).dependencies());
    }

    @Test
    void aFileOutsideThePipeIsRefused() {
        PipePlan p = plan(member(5, O_RDONLY, fle(1, 3)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.restorer(77));
        assertTrue(e.getMessage().contains("77") && e.getMessage().contains(Long.toString(PIPE)), e.getMessage());
    }
}
