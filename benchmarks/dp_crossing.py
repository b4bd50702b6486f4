"""Where DP-SGD's noise would stop drowning the expert: an extrapolation of dp-quality.sh, not a measurement.

For an owner with N documents, the noise multiplier z that keeps a contribution at ε (the signature's
share included, δ fixed) is computed with Google's dp-accounting (RDP), and with it the per-step
noise-to-signal bound ρ = z·√d / (q·N) that dp-quality.sh prints (d: trained values). Two ways to spend
more documents:
  - the same expected batch B: q = B/N falls, z falls with it (privacy amplification by sampling);
  - the same sampling rate q: z stays, the batch qN grows, ρ ∝ 1/N (a token budget growing with N).
The signature is modelled as one Gaussian release at its share of ε (RDP composes Gaussians into one);
`--check N:q:steps:z` rows compare the model with noise multipliers train --dp-sgd chose.

  .venv/bin/python benchmarks/dp_crossing.py --epsilon 8 --batch 64 --steps 8 --params 202752 --documents 325 \
      --check 325:0.1969:8:0.88 --target-rho 1
"""
import argparse
import logging
import math

import dp_accounting
from dp_accounting import rdp

# dp-accounting drops fractional orders whose series does not converge, and says so at every call.
logging.getLogger("absl").setLevel(logging.ERROR)



def epsilon(z_signature, q, z, steps, delta):
    acc = rdp.RdpAccountant()
    acc.compose(dp_accounting.GaussianDpEvent(z_signature))
    sampled = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(z))
    acc.compose(dp_accounting.SelfComposedDpEvent(sampled, steps))
    return acc.get_epsilon(delta)


def smallest(f, target, lo=0.05, hi=1.0):
    """The smallest z with f(z) <= target (f falls as z grows)."""
    while f(hi) > target:
        hi *= 2
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if f(mid) <= target else (mid, hi)
    return hi


def signature_noise(share_epsilon, delta):
    acc = lambda z: rdp.RdpAccountant().compose(dp_accounting.GaussianDpEvent(z)).get_epsilon(delta)
    return smallest(acc, share_epsilon)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epsilon", type=float, default=8)
    p.add_argument("--share", type=float, default=0.25, help="the signature's share of ε (train's default)")
    p.add_argument("--delta", type=float, default=1e-6)
    p.add_argument("--batch", type=int, default=64, help="the expected batch B of the measured runs")
    p.add_argument("--steps", type=int, default=8, help="private steps")
    p.add_argument("--params", type=int, default=202752, help="trained values d (LoRA rank 4 on layers 22-29)")
    p.add_argument("--documents", type=int, default=325, help="the measured run's N (its q = B/N is kept in the second table)")
    p.add_argument("--check", nargs="*", default=[], help="N:q:steps:z rows from train --dp-sgd runs")
    p.add_argument("--target-rho", type=float, nargs="*", default=[], help="print the N at which ρ reaches each value")
    a = p.parse_args()
    zs = signature_noise(a.share * a.epsilon, a.delta)
    print(f"signature: one Gaussian release, noise multiplier {zs:.3f} (ε = {a.share * a.epsilon:g} alone, δ = {a.delta:g})")
    z_for = lambda q, steps: smallest(lambda z: epsilon(zs, q, z, steps, a.delta), a.epsilon)
    for row in a.check:
        n, q, steps, z = row.split(":")
        model = z_for(float(q), int(steps))
        print(f"check N={n} q={q} steps={steps}: train chose z = {float(z):.3f}, this model {model:.3f}")
    root_d = math.sqrt(a.params)
    q0 = min(1, a.batch / a.documents)
    z0 = z_for(q0, a.steps)
    print(f"\nε = {a.epsilon:g}, {a.steps} private steps, d = {a.params}: ρ = z·√d/(q·N)")
    print(f"{'N':>8} | {'same batch ' + str(a.batch) + ': q':>18} {'z':>6} {'ρ':>7} | {'same q ' + format(q0, '.3f') + ': batch':>20} {'z':>6} {'ρ':>7}")
    for n in sorted({a.documents, 1000, 3000, 10_000, 30_000, 100_000, 1_000_000}):
        q = min(1, a.batch / n)
        z = z_for(q, a.steps)
        print(f"{n:8d} | {q:18.5f} {z:6.3f} {z * root_d / a.batch:7.2f} | {q0 * n:20.0f} {z0:6.3f} {z0 * root_d / (q0 * n):7.3f}")
    for rho in a.target_rho:
        # Same q: ρ ∝ 1/N exactly.
        n_same_q = z0 * root_d / (q0 * rho)
        print(f"ρ = {rho:g}: at q = {q0:.3f}, N = {n_same_q:,.0f} documents (batch {q0 * n_same_q:,.0f});"
              f" at batch {a.batch} z would have to be {rho * a.batch / root_d:.3f}")


if __name__ == "__main__":
    main()
