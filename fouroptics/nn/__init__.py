"""Learning: SCLC students (spectral linear optics + detection + electronic head), nonlinear
teachers, knowledge distillation, training, MAC counting and the experiment commands."""

from fouroptics.nn.detection import DETECTION_MODES, Detection, detect
from fouroptics.nn.kd import FeatureMatcher, kd_loss
from fouroptics.nn.macs import count_macs
from fouroptics.nn.models import build_model
from fouroptics.nn.sclc import SCLC, SpectralStack, apply_collapsed
from fouroptics.nn.spectral import SpectralConv2d, SpectralPool2d, spectral_crop
from fouroptics.nn.teacher import TeacherCNN, TeacherSegNet

__all__ = [
    "DETECTION_MODES",
    "SCLC",
    "Detection",
    "FeatureMatcher",
    "SpectralConv2d",
    "SpectralPool2d",
    "SpectralStack",
    "TeacherCNN",
    "TeacherSegNet",
    "apply_collapsed",
    "build_model",
    "count_macs",
    "detect",
    "kd_loss",
    "spectral_crop",
]
