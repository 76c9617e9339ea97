"""The exact certificate of "no two regions collide": dual certificates re-solved in rationals.

For regions i, j with exact pieces (A_i, c_i) on the polyhedra P_i = {G_i z <= g_i} (their
facets' exact rows: dropping the redundant rows of a pattern only enlarges a region, so a
certificate for these polyhedra holds for the regions), a collision is a point of

    C_ij = {(z, z') : G_i z <= g_i, G_j z' <= g_j, A_i z − A_j z' = c_j − c_i}

with z != z'. Pairs whose certified image boxes are disjoint, or whose pieces are transversal
(exact ranks, see ``_transversal``), need nothing more. For the others, two kinds of
certificate, both read off a float program and re-solved exactly:

- C_ij is empty: a Farkas certificate y >= 0, λ with M^T (y, λ) = 0 and b · (y, λ) = −1;
- every point of C_ij has z = z': for each w of a positive spanning set of R^m, a dual
  certificate that max (w, −w) · (z, z') over C_ij is <= 0.

The float program says only which rows carry the certificate (its dual's support, which no
positive row scaling changes); on those rows the certificate is the exact least-squares
solution, kept when it solves its equations exactly and has the right signs. A region's own
points cannot collide when its piece has exact rank m. With an enumeration whose regions are
exact, the certificates prove injectivity; any certificate that fails leaves it unproved.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from flint import fmpq, fmpq_mat

from models._region_engine_dd import norms as row_norms
from models.exact import q, qcol, to_float, to_floats
from models.regions import linear_regions
from models.solver import Block, solve_blocks

from . import _lp, _modular_rank, _pairs

# Pairs per block-diagonal program.
BATCH = 128
# A dual value counts in the support above this fraction of the largest one.
SUPPORT_RTOL = 1e-9
# Pivots of the float QR below this fraction of the largest one end the independent rows.
PIVOT_RTOL = 1e-10
# Most regions and pairs certified in one check (beyond them a float "holds" is unknown).
MAX_REGIONS = 2_000
MAX_PAIRS = 20_000
MAX_OVERLAPPING = 1_000_000


@dataclass(frozen=True)
class ExactPiece:
    """Rows G z <= g (k, m), (k,) and the piece A z + c (n, m), (n,), exact, in the frame's units,
    with their float roundings (rows scaled to unit norm) for the programs that find the certificates."""

    G: list[list[fmpq]]
    g: list[fmpq]
    A: list[list[fmpq]]
    c: list[fmpq]
    float_piece: _lp.Piece
    full_rank: bool

    @functools.cached_property
    def affine(self) -> fmpq_mat:
        """[A | c], n × (m + 1), exact."""
        return fmpq_mat(len(self.A), len(self.A[0]) + 1, [v for row, c in zip(self.A, self.c) for v in [*row, c]])


@dataclass
class Certificate:
    verified: bool
    pairs: int = 0
    reason: str | None = None


def _rows(matrix: fmpq_mat) -> list[list[fmpq]]:
    return [[matrix[i, j] for j in range(matrix.ncols())] for i in range(matrix.nrows())]


def _matrix(rows: list[list[fmpq]]) -> fmpq_mat:
    return fmpq_mat(len(rows), len(rows[0]), [v for row in rows for v in row])


def exact_pieces(frame, regions, deadline=None) -> list[ExactPiece]:
    """The exact facet rows and pieces of every region of ``frame.network`` (``regions``: a RegionSet
    of the original network on the original box), in the frame's units u = (z − anchor) / scale;
    ``TimeLimitExceeded`` past ``deadline``."""
    a = regions.arrays
    m, hidden = frame.network.in_dim, len(frame.network.weights) - 1
    net = frame.exact.on_coordinates(frame.anchor, frame.scale * np.eye(m))
    box = regions.box
    bounds = None
    if box is not None:
        anchor, scale = [q(v) for v in frame.anchor], q(frame.scale)
        bounds = [[(q(lo) - anchor[k]) / scale, (q(hi) - anchor[k]) / scale] for k, (lo, hi) in
                  enumerate(zip(np.asarray(box[0], dtype=np.float64), np.asarray(box[1], dtype=np.float64)))]
    widths = [w.nrows() for w in net.weights[:-1]]
    starts = np.cumsum([0] + widths)
    pieces = []
    for i in range(len(a)):
        if deadline is not None:
            deadline.check(f"the exact pieces of the regions ({i} of {len(a)})")
        pattern = a.patterns[i]
        forms = net.layer_forms(pattern, hidden) if hidden else []
        A, c = net.piece(pattern)
        G, g = [], []
        for unit in a.facet_units[a.facet_offsets[i]:a.facet_offsets[i + 1]]:
            unit = int(unit)
            if unit < 0:
                face = -1 - unit
                k, upper = divmod(face, 2)
                row = [fmpq(0)] * m
                row[k] = fmpq(1 if upper else -1)
                G.append(row)
                g.append(bounds[k][1] if upper else -bounds[k][0])
                continue
            layer = int(np.searchsorted(starts, unit, side="right") - 1)
            P, p = forms[layer]
            r = unit - starts[layer]
            sign = -1 if pattern[unit] else 1  # active: P z + p >= 0
            G.append([sign * P[r, j] for j in range(m)])
            g.append(-sign * p[r, 0])
        pieces.append(ExactPiece(G, g, _rows(A), list(c.entries()), _float_piece(G, g, A, c), A.rank() == m))
    return pieces


def _float_piece(G, g, A: fmpq_mat, c: fmpq_mat) -> _lp.Piece:
    m = A.ncols()
    Gf = to_floats(_matrix(G)).reshape(len(G), m) if G else np.zeros((0, m))
    gf = to_floats(qcol(g)) if g else np.zeros(0)
    norms = _unit_scales(Gf)
    return _lp.Piece(Gf / norms[:, None], gf / norms, to_floats(qcol(list(A.entries()))).reshape(A.nrows(), m), to_floats(c))


def _unit_scales(rows: np.ndarray) -> np.ndarray:
    """What each row is divided by to have unit norm (1 for a zero row)."""
    norms = row_norms(rows)
    return np.where(norms > 0, norms, 1.0)


def _system(p: ExactPiece, r: ExactPiece, m: int):
    """Exact rows of C_pr in (z, z'): inequalities (list of (row, rhs)) and equalities."""
    zero = [fmpq(0)] * m
    ineq = [(row + zero, rhs) for row, rhs in zip(p.G, p.g)] + [(zero + row, rhs) for row, rhs in zip(r.G, r.g)]
    eq = [(p.A[k] + [-v for v in r.A[k]], r.c[k] - p.c[k]) for k in range(len(p.c))]
    return ineq, eq


def _float_rows(p: ExactPiece, r: ExactPiece):
    """The float program's rows of C_pr: inequalities (unit rows), then each equality twice (±)."""
    fp, fr = p.float_piece, r.float_piece
    m = fp.G.shape[1]
    G = np.vstack([np.hstack([fp.G, np.zeros((fp.G.shape[0], m))]), np.hstack([np.zeros((fr.G.shape[0], m)), fr.G])])
    g = np.concatenate([fp.g, fr.g])
    E = np.hstack([fp.A, -fr.A])
    e = to_floats(qcol([b - a for a, b in zip(p.c, r.c)]))  # rounded once from the exact difference: no cancellation
    norms = _unit_scales(E)
    E, e = E / norms[:, None], e / norms
    return np.vstack([G, E, -E]), np.concatenate([g, e, -e]), G.shape[0]


def _duals(blocks: list[Block], deadline):
    return solve_blocks(blocks, deadline=deadline, duals=True)


def _support(y: np.ndarray, n_ineq: int, n_eq: int):
    """Indices of the inequality rows and of the equalities carrying the float dual y (rows of ``_float_rows``)."""
    ineq, plus, minus = y[:n_ineq], y[n_ineq:n_ineq + n_eq], y[n_ineq + n_eq:n_ineq + 2 * n_eq]
    free = plus - minus
    top = max(float(np.abs(ineq).max(initial=0.0)), float(np.abs(free).max(initial=0.0)), 1e-300)
    return np.flatnonzero(ineq > SUPPORT_RTOL * top), np.flatnonzero(np.abs(free) > SUPPORT_RTOL * top)


def _exact_dual(ineq, eq, rows_i, rows_e, target: list[fmpq], farkas: bool):
    """The exact certificate on the given rows, or None: y >= 0 on the inequalities, λ free, with
    M^T (y, λ) = target (and b · (y, λ) = −1 when ``farkas``); returns b · (y, λ)."""
    chosen = [(ineq[k], True) for k in rows_i] + [(eq[k], False) for k in rows_e]
    if not chosen:
        return None
    vectors = [row + ([rhs] if farkas else []) for (row, rhs), _ in chosen]
    goal = fmpq_mat(len(vectors[0]), 1, target + ([fmpq(-1)] if farkas else []))
    keep = list(range(len(vectors)))
    y = _least_squares(vectors, keep, goal)
    if y is None:  # dependent rows: keep independent ones (pivoted QR on the floats), so that the Gram matrix is regular
        floats = to_floats(qcol([v for vec in vectors for v in vec])).reshape(len(vectors), -1)
        _, R, order = scipy.linalg.qr(floats.T, mode="economic", pivoting=True)
        diag = np.abs(np.diag(R))
        keep = [int(k) for k, d in zip(order, diag) if d > PIVOT_RTOL * max(float(diag[0]), 1e-300)]
        y = _least_squares(vectors, keep, goal)
    if y is None:
        return None
    value = fmpq(0)
    for slot, k in enumerate(keep):
        (row, rhs), signed = chosen[k]
        if signed and y[slot, 0] < 0:
            return None
        value += y[slot, 0] * rhs
    return value


def _least_squares(vectors, keep: list[int], goal: fmpq_mat) -> fmpq_mat | None:
    """The exact y with N^T y = goal for N = the kept rows, or None (no such y, or N's rows dependent)."""
    if not keep:
        return None
    N = fmpq_mat(len(keep), goal.nrows(), [v for k in keep for v in vectors[k]])
    try:
        y = (N * N.transpose()).solve(N * goal)
    except ZeroDivisionError:
        return None
    return y if N.transpose() * y == goal else None


def _exact_regions(frame, deadline):
    """The regions of the original network on the original domain and their exact pieces, or the
    Certificate that says why there are none (an enumeration that is not exact, too many regions)."""
    regions = linear_regions(frame.network, frame.latent_box, time_limit=deadline)
    if not bool(regions.arrays.exact.all()):
        return regions, Certificate(False, reason="the region enumeration is not exact")
    if len(regions) > MAX_REGIONS:
        return regions, Certificate(False, reason=f"{len(regions)} regions: more than the {MAX_REGIONS} certified in one check")
    return regions, exact_pieces(frame, regions, deadline)


def certify(frame, deadline=None) -> Certificate:
    """The exact certificate that ``frame.network`` is injective on its domain: the regions of the
    original network on the original domain (exact enumeration), then ``certify_pairs``."""
    regions, pieces = _exact_regions(frame, deadline)
    if isinstance(pieces, Certificate):
        return pieces
    return certify_pairs(pieces, bool(regions.arrays.bounded.all()), deadline)


def certify_pairs(pieces: list[ExactPiece], bounded: bool, deadline=None) -> Certificate:
    """Exact certificates that no two of ``pieces`` collide (see the module docstring); ``bounded``:
    every piece is bounded, so that certified image boxes can clear pairs first."""
    if not all(p.full_rank for p in pieces):
        return Certificate(False, reason="a region's piece is not of exact rank m")
    # Pairs whose certified image boxes are disjoint need nothing more; the rest need programs.
    boxes = image_bounds(pieces, deadline) if bounded else None
    if deadline is not None and deadline.expired():
        return Certificate(False, reason="the time limit stopped the exact certificates")
    overlapping = [tuple(map(int, ij)) for ij in _pairs.overlapping_pairs(len(pieces), boxes, 0.0)]
    if len(overlapping) > MAX_OVERLAPPING:
        return Certificate(False, reason=f"{len(overlapping)} region pairs with overlapping images: more than the "
                                         f"{MAX_OVERLAPPING} tested in one check")
    pairs = []
    lower = _transversal_mod_p(pieces, overlapping, deadline)
    m = pieces[0].float_piece.G.shape[1] if pieces else 0
    for k, (i, j) in enumerate(overlapping):
        if deadline is not None and k % 1024 == 0 and deadline.expired():
            return Certificate(False, reason="the time limit stopped the exact certificates")
        if lower[k] == 2 * m + 1:
            continue  # full column rank mod p: transversal
        if not _transversal(pieces[i], pieces[j], int(lower[k])):
            pairs.append((i, j))
    if len(pairs) > MAX_PAIRS:
        return Certificate(False, reason=f"{len(pairs)} region pairs: more than the {MAX_PAIRS} certified in one check")
    m = pieces[0].float_piece.G.shape[1] if pieces else 0
    dirs = _lp.directions(m) if m else np.zeros((0, 0))
    for start in range(0, len(pairs), BATCH):
        if deadline is not None and deadline.expired():
            return Certificate(False, start, "the time limit stopped the exact certificates")
        batch = pairs[start:start + BATCH]
        touching = _farkas(pieces, batch, deadline)
        if touching is None:
            return Certificate(False, start, "a pair program failed")
        if touching and not _separations(pieces, [batch[k] for k in touching], dirs, deadline):
            return Certificate(False, start, "a pair whose images meet has no exact certificate that z = z'")
    return Certificate(True, len(pairs))


# Pairs whose transversality is tested mod p at once.
MODULAR_CHUNK = 8192


def _transversal_mod_p(pieces: list[ExactPiece], pairs: list[tuple[int, int]], deadline) -> np.ndarray:
    """Per pair (i, j), the rank modulo a prime of [A_i, A_i − A_j, c_i − c_j] (``_modular_rank``): a lower
    bound of its rank over Q, which equals rank [A_i, B] for B = [A_i − A_j, c_i − c_j]. Full column
    rank 2m + 1 proves the pair transversal; 0 means not computed (a denominator divisible by the
    prime, or the time limit)."""
    lower = np.zeros(len(pairs), dtype=np.int64)
    if not pairs:
        return lower
    n, m = len(pieces[0].c), len(pieces[0].A[0])
    A = np.zeros((len(pieces), n, m), dtype=np.int64)
    c = np.zeros((len(pieces), n), dtype=np.int64)
    usable = np.zeros(len(pieces), dtype=bool)
    for i, piece in enumerate(pieces):
        a, b = _modular_rank.residues([v for row in piece.A for v in row]), _modular_rank.residues(piece.c)
        if a is not None and b is not None:
            A[i], c[i], usable[i] = a.reshape(n, m), b, True
    index = np.asarray(pairs, dtype=np.int64)
    p = _modular_rank.PRIME
    for start in range(0, len(index), MODULAR_CHUNK):
        if deadline is not None and deadline.expired():
            break
        i, j = index[start:start + MODULAR_CHUNK, 0], index[start:start + MODULAR_CHUNK, 1]
        M = np.concatenate([A[i], (A[i] - A[j]) % p, ((c[i] - c[j]) % p)[:, :, None]], axis=2)
        lower[start:start + len(i)] = np.where(usable[i] & usable[j], _modular_rank.ranks(M), 0)
    return lower


def _transversal(p: ExactPiece, r: ExactPiece, lower: int = 0) -> bool:
    """Whether the pair cannot collide by transversality, decided by exact ranks: a collision has
    A_p (z − z') = −(D z' + δ) with D = A_p − A_r, δ = c_p − c_r, so when range(A_p) meets
    range([D, δ]) only in 0, z = z' (A_p has rank m); likewise with A_r. ``lower``: a proved lower
    bound of rank [A_p, D, δ] (mod p); as rank [A_p, B] <= m + rank B, reaching m + rank B settles it."""
    B = p.affine - r.affine  # [D, δ]
    rank_b = B.rank()
    if rank_b == 0:
        return True  # the same piece: A_p z = A_p z' forces z = z'
    m = len(p.A[0])
    if lower >= m + rank_b:
        return True
    first, rest = _column_maps(m)
    # [A_side, B] = [A_side, c_side] · first + B · rest, formed in flint.
    return any((side.affine * first + B * rest).rank() == m + rank_b for side in (p, r))


@functools.lru_cache(maxsize=None)
def _column_maps(m: int) -> tuple[fmpq_mat, fmpq_mat]:
    """(m + 1) × (2m + 1) matrices that place the first m columns of an n × (m + 1) matrix first, and
    all its m + 1 columns after them."""
    first = fmpq_mat(m + 1, 2 * m + 1, [fmpq(int(i == j and i < m)) for i in range(m + 1) for j in range(2 * m + 1)])
    rest = fmpq_mat(m + 1, 2 * m + 1, [fmpq(int(j == m + i)) for i in range(m + 1) for j in range(2 * m + 1)])
    return first, rest


def _certified_maxima(pieces: list[ExactPiece], targets, deadline) -> dict:
    """Exact upper bounds of t · z over each region, for the exact rows t of ``targets(i)`` (a list per
    region): {(i, k): bound} from dual certificates re-solved in rationals (missing where none)."""
    blocks, meta = [], []
    for i, p in enumerate(pieces):
        fp = p.float_piece
        for k, (exact, floats) in enumerate(targets(i)):
            blocks.append(Block(-floats, fp.G, fp.g, np.full(fp.G.shape[1], -np.inf), np.full(fp.G.shape[1], np.inf)))
            meta.append((i, k, exact))
    out_bounds = {}
    for start in range(0, len(blocks), 4 * BATCH):
        if deadline is not None and deadline.expired():
            break
        for out, (i, k, exact) in zip(_duals(blocks[start:start + 4 * BATCH], deadline), meta[start:start + 4 * BATCH]):
            if out is None:
                continue
            p = pieces[i]
            rows, _ = _support(-out[1], len(p.g), 0)
            value = _exact_dual(list(zip(p.G, p.g)), [], rows, [], exact, farkas=False)
            if value is not None:
                out_bounds[i, k] = value
    return out_bounds


def image_bounds(pieces: list[ExactPiece], deadline=None) -> tuple[np.ndarray, np.ndarray]:
    """Bounds lo <= f_i(z) <= hi on every region, shape (R, n) each, floats rounded outward from
    exact dual certificates (±inf where none: unbounded regions, or a program that failed).

    With more outputs than latents (n > m), the 2m programs of each region's coordinate box are
    cheaper than the 2n of its image: the image bounds then come from the exact piece over that
    box, in rationals (looser, as the box holds more than the region)."""
    n = len(pieces[0].c) if pieces else 0
    m = len(pieces[0].A[0]) if pieces else 0
    lo, hi = np.full((len(pieces), n), -np.inf), np.full((len(pieces), n), np.inf)
    if n <= m:
        def targets(i):
            p = pieces[i]
            return [([sign * v for v in p.A[k]], sign * p.float_piece.A[k]) for k in range(n) for sign in (1, -1)]
        found = _certified_maxima(pieces, targets, deadline)
        for (i, slot), value in found.items():
            k, odd = divmod(slot, 2)
            sign = -1 if odd else 1
            bound = value + sign * pieces[i].c[k]  # sign · f_k <= bound
            if sign > 0:
                hi[i, k] = np.nextafter(to_float(bound), np.inf)
            else:
                lo[i, k] = np.nextafter(-to_float(bound), -np.inf)
        return lo, hi
    eye = np.eye(m)
    units = [([fmpq(int(sign * (a == b))) for b in range(m)], sign * eye[a]) for a in range(m) for sign in (1, -1)]
    found = _certified_maxima(pieces, lambda i: units, deadline)
    for i, p in enumerate(pieces):
        if not all((i, slot) in found for slot in range(2 * m)):
            continue
        box = [(-found[i, 2 * a + 1], found[i, 2 * a]) for a in range(m)]  # low_a <= z_a <= high_a, exactly
        for k in range(n):
            least = sum((min(v * a, v * b) for v, (a, b) in zip(p.A[k], box)), p.c[k])
            most = sum((max(v * a, v * b) for v, (a, b) in zip(p.A[k], box)), p.c[k])
            lo[i, k] = np.nextafter(to_float(least), -np.inf)
            hi[i, k] = np.nextafter(to_float(most), np.inf)
    return lo, hi


def _phase_one(A: np.ndarray, b: np.ndarray) -> Block:
    """min t subject to A x − t <= b, t >= 0: t > 0 at the optimum when {A x <= b} is empty, and
    then the row duals are a Farkas certificate of it."""
    n = A.shape[1]
    return Block(np.r_[np.zeros(n), 1.0], np.hstack([A, -np.ones((A.shape[0], 1))]), b, np.r_[np.full(n, -np.inf), 0.0],
                 np.full(n + 1, np.inf))


def _farkas(pieces, batch, deadline) -> list[int] | None:
    """Positions in ``batch`` of the pairs not proved disjoint by an exact Farkas certificate."""
    blocks, shapes = [], []
    for i, j in batch:
        A, b, n_ineq = _float_rows(pieces[i], pieces[j])
        blocks.append(_phase_one(A, b))
        shapes.append(n_ineq)
    solved = _duals(blocks, deadline)
    touching = []
    for k, ((i, j), out, n_ineq) in enumerate(zip(batch, solved, shapes)):
        if out is None:
            return None
        x, y = out
        if x[-1] <= 0:
            touching.append(k)
            continue
        ineq, eq = _system(pieces[i], pieces[j], pieces[i].float_piece.G.shape[1])
        rows_i, rows_e = _support(-y, n_ineq, len(eq))
        zero = [fmpq(0)] * (2 * pieces[i].float_piece.G.shape[1])
        if _exact_dual(ineq, eq, rows_i, rows_e, zero, farkas=True) is None:
            touching.append(k)
    return touching


def _separations(pieces, pairs, dirs, deadline) -> bool:
    """Whether every pair has, for every direction, an exact certificate that max w·(z − z') <= 0."""
    blocks, meta = [], []
    for i, j in pairs:
        A, b, n_ineq = _float_rows(pieces[i], pieces[j])
        system = _system(pieces[i], pieces[j], dirs.shape[1])
        for w in dirs:
            blocks.append(Block(-np.r_[w, -w], A, b, np.full(A.shape[1], -np.inf), np.full(A.shape[1], np.inf)))
            meta.append((system, w, n_ineq))
    for out, ((ineq, eq), w, n_ineq) in zip(_duals(blocks, deadline), meta):
        if out is None:
            return False
        rows_i, rows_e = _support(-out[1], n_ineq, len(eq))
        target = [q(v) for v in w] + [-q(v) for v in w]
        value = _exact_dual(ineq, eq, rows_i, rows_e, target, farkas=False)
        if value is None or value > 0:
            return False
    return True


def certify_degree_one(frame, u0: np.ndarray, sign: int, deadline=None) -> Certificate:
    """The exact certificate that a square f is a homeomorphism of R^m (``frame`` on R^m): every region
    of the exact enumeration has a piece whose determinant has the sign ``sign`` (coherent
    orientation, in rationals), and x0 = f(z0), z0 = anchor + scale · u0, has exactly one preimage,
    which lies strictly inside its region (``certify_unique_preimage``): a regular value of degree one."""
    regions, pieces = _exact_regions(frame, deadline)
    if isinstance(pieces, Certificate):
        return pieces
    for k, p in enumerate(pieces):
        if deadline is not None:
            deadline.check(f"the exact determinants of the regions ({k} of {len(pieces)})")
        det = _matrix(p.A).det()
        if det == 0 or (det > 0) != (sign > 0):
            return Certificate(False, reason=f"region {k}'s exact determinant is {'0' if det == 0 else 'of the other sign'}")
    return certify_unique_preimage(frame, u0, deadline, enumerated=(regions, pieces))


def certify_unique_preimage(frame, u0: np.ndarray, deadline=None, *, enumerated=None) -> Certificate:
    """The exact certificate of condition (i) of weak injectivity at z0 = anchor + scale · u0: z0 lies
    strictly inside a region (no unit at 0, exactly) whose piece has rank m, and x0 = f(z0) lies in the
    image of no other region (certified image boxes, else Farkas certificates). Then x0 has one
    preimage, and so does every point of the image near x0. ``enumerated``: (regions, exact pieces)
    already computed for the frame."""
    regions, pieces = _exact_regions(frame, deadline) if enumerated is None else enumerated
    if isinstance(pieces, Certificate):
        return pieces
    net = frame.exact.on_coordinates(frame.anchor, frame.scale * np.eye(frame.network.in_dim))
    point = qcol(np.asarray(u0, dtype=np.float64))
    x0, pre = net.forward(point)
    if any(v == 0 for layer in pre for v in layer):
        return Certificate(False, reason="z0 lies on a unit's hyperplane")
    pattern = np.array([v > 0 for layer in pre for v in layer], dtype=bool)
    own = [i for i in range(len(pieces)) if np.array_equal(regions.arrays.patterns[i], pattern)]
    if len(own) != 1 or not pieces[own[0]].full_rank:
        return Certificate(False, reason="z0's region is not one full-rank region of the enumeration")
    x0 = list(x0.entries())
    boxes = image_bounds(pieces, deadline) if bool(regions.arrays.bounded.all()) else None
    others = [k for k in range(len(pieces)) if k != own[0] and not _outside(boxes, k, x0)]
    blocks = []
    for k in others:
        fp = pieces[k].float_piece
        scale = _unit_scales(fp.A)
        E, e = fp.A / scale[:, None], to_floats(qcol([x - c for x, c in zip(x0, pieces[k].c)])) / scale
        blocks.append(_phase_one(np.vstack([fp.G, E, -E]), np.r_[fp.g, e, -e]))
    for start in range(0, len(blocks), BATCH):
        if deadline is not None and deadline.expired():
            return Certificate(False, start, "the time limit stopped the exact certificates")
        for k, out in zip(others[start:start + BATCH], _duals(blocks[start:start + BATCH], deadline)):
            p = pieces[k]
            if out is None or out[0][-1] <= 0:
                return Certificate(False, start, f"x0 may lie in the image of region {k}")
            rows_i, rows_e = _support(-out[1], len(p.g), len(p.c))
            eq = [(p.A[r], x0[r] - p.c[r]) for r in range(len(p.c))]
            if _exact_dual(list(zip(p.G, p.g)), eq, rows_i, rows_e, [fmpq(0)] * len(p.A[0]), farkas=True) is None:
                return Certificate(False, start, f"no exact certificate that x0 is outside the image of region {k}")
    return Certificate(True, len(others))


def _outside(boxes, k: int, x0: list[fmpq]) -> bool:
    """Whether x0 lies outside region k's certified image box (strictly, compared exactly)."""
    if boxes is None:
        return False
    lo, hi = boxes
    return any((np.isfinite(a) and x < q(a)) or (np.isfinite(b) and x > q(b)) for a, b, x in zip(lo[k], hi[k], x0))
