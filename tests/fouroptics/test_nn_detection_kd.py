"""Detection modes and the KD loss against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fouroptics.nn.detection import detect, optical_channels
from fouroptics.nn.kd import FeatureMatcher, kd_loss


def test_detection_modes() -> None:
    e = torch.tensor([[[[3 + 4j, -1 + 0j]], [[0 + 2j, 1 - 1j]]]], dtype=torch.complex64)
    assert detect(e, "ideal").tolist() == [[[[3.0, -1.0]], [[0.0, 1.0]]]]
    assert detect(e, "intensity").tolist() == [[[[25.0, 1.0]], [[4.0, 2.0]]]]
    signed = detect(e, "signed")  # channel pairs (E+, E-): |E+| - |E-|
    assert signed.shape == (1, 1, 1, 2)
    torch.testing.assert_close(signed[0, 0, 0], torch.tensor([5.0 - 2.0, 1.0 - math.sqrt(2)]))
    assert optical_channels(8, "signed") == 16 and optical_channels(8, "ideal") == 8


def test_signed_detection_recovers_a_signed_real_output() -> None:
    """K = K+ - K-: with nonnegative real partial outputs the split returns their difference."""
    pos, neg = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    field = torch.stack([pos, neg], 2).reshape(2, 6, 4, 4).to(torch.complex64)
    torch.testing.assert_close(detect(field, "signed"), pos - neg, atol=1e-3, rtol=0)


def test_detection_errors() -> None:
    with pytest.raises(ValueError, match="unknown detection mode 'phase'"):
        detect(torch.zeros(1, 2, 2, 2, dtype=torch.complex64), "phase")
    with pytest.raises(ValueError, match="even channel count"):
        detect(torch.zeros(1, 3, 2, 2, dtype=torch.complex64), "signed")
    with pytest.raises(TypeError, match="complex"):
        detect(torch.zeros(1, 2, 2, 2), "ideal")


def test_kd_loss_matches_a_hand_computed_value() -> None:
    s = torch.tensor([[1.0, 2.0, 3.0]])
    t = torch.tensor([[3.0, 2.0, 1.0]])
    y = torch.tensor([0])
    T, alpha = 2.0, 0.3

    def softmax(v: list[float]) -> list[float]:
        e = [math.exp(a) for a in v]
        return [a / sum(e) for a in e]

    ps, pt = softmax([0.5, 1.0, 1.5]), softmax([1.5, 1.0, 0.5])
    kl = sum(p * math.log(p / q) for p, q in zip(pt, ps, strict=True))
    ce = -math.log(softmax([1.0, 2.0, 3.0])[0])
    expect = alpha * T * T * kl + (1 - alpha) * ce
    assert kd_loss(s, t, y, T, alpha).item() == pytest.approx(expect, rel=1e-6)
    assert kd_loss(s, t, y, T, 0.0).item() == pytest.approx(ce, rel=1e-6)


def test_per_pixel_kd_is_the_mean_of_per_pixel_losses() -> None:
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 4, 3, 3, generator=g)
    y = torch.randint(0, 4, (2, 3, 3), generator=g)
    flat = kd_loss(
        s.permute(0, 2, 3, 1).reshape(-1, 4), t.permute(0, 2, 3, 1).reshape(-1, 4), y.reshape(-1)
    )
    torch.testing.assert_close(kd_loss(s, t, y), flat)


def test_kd_gradient_vanishes_when_student_equals_teacher_and_alpha_is_one() -> None:
    t = torch.randn(5, 10)
    s = t.clone().requires_grad_(True)
    kd_loss(s, t, torch.zeros(5, dtype=torch.int64), 10.0, 1.0).backward()
    assert float(s.grad.abs().max()) < 1e-6
    assert F.cross_entropy(s, torch.zeros(5, dtype=torch.int64)).item() > 0


def test_feature_matcher_is_zero_for_matching_features() -> None:
    m = FeatureMatcher(2, 2)
    with torch.no_grad():
        m.adapter.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        m.adapter.bias.zero_()
    f = torch.randn(3, 2, 4, 4)
    assert m(f, 2 * f + 1).item() == pytest.approx(0.0, abs=1e-6)
    assert m(f, torch.randn(3, 2, 4, 4)).item() > 0.1


def test_class_weights_enter_only_the_hard_term() -> None:
    from fouroptics.nn.experiment import balanced_class_weights

    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    y = torch.tensor([0, 0, 0, 0, 1, 2])
    w = torch.tensor(balanced_class_weights(y, 4)[:3])
    assert float(w[0]) < float(w[1]) == pytest.approx(float(w[2]))  # rare classes weigh more
    ref = F.cross_entropy(s, y, weight=w)
    assert kd_loss(s, t, y, 3.0, 0.0, w).item() == pytest.approx(ref.item(), rel=1e-6)
    soft = kd_loss(s, t, y, 3.0, 1.0)
    assert kd_loss(s, t, y, 3.0, 1.0, w).item() == pytest.approx(soft.item(), rel=1e-6)
