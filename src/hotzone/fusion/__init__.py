"""Multi-sensor multi-target tracking on arrays of tracks (docs/fusion.md).

One abstract base per role, concrete classes named algorithm + role, composed by
constructor arguments into a `MultiTargetTracker`, whose ``step(time, scans)`` returns a
`TrackBatch`. `TrackingStage` is what the runtime calls: decoded messages in, `Track`
messages out, rejected inputs as dead letters.
"""

from hotzone.fusion.association import (
    Association,
    Associator,
    CandidatePairs,
    GNNAssociator,
    JPDAAssociator,
)
from hotzone.fusion.conversion import MessageConverter
from hotzone.fusion.deletion import Deleter, MissesDeleter, RevisitDeleter
from hotzone.fusion.estimates import Estimates, TrackBatch
from hotzone.fusion.gating import ChiSquareGater, DistanceGater, Gater
from hotzone.fusion.imm import IMMPredictor, IMMUpdater, default_imm_models
from hotzone.fusion.initiation import Initiator, MOfNInitiator, RevisitInitiator
from hotzone.fusion.measurement import (
    BearingMeasurement,
    MeasurementModel,
    PolarMeasurement,
    PositionMeasurement,
    VelocityMeasurement,
    convert_polar,
)
from hotzone.fusion.metrics import Evaluation, SetDistance, evaluate, set_distance
from hotzone.fusion.motion import (
    ConstantAccelerationMotion,
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
    MotionModel,
)
from hotzone.fusion.predictor import KalmanPredictor, Predictor
from hotzone.fusion.revisit import RevisitModel
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.stage import TrackingStage, default_tracker, tracks_to_messages
from hotzone.fusion.tracker import IdentityConflict, MultiTargetTracker, Rejection
from hotzone.fusion.triangulation import BearingTriangulator
from hotzone.fusion.updater import KalmanUpdater, Updater

__all__ = [
    "Association",
    "Associator",
    "BearingMeasurement",
    "BearingTriangulator",
    "CandidatePairs",
    "ChiSquareGater",
    "ConstantAccelerationMotion",
    "ConstantVelocityMotion",
    "CoordinatedTurnMotion",
    "Deleter",
    "DistanceGater",
    "Estimates",
    "Evaluation",
    "GNNAssociator",
    "Gater",
    "IMMPredictor",
    "IMMUpdater",
    "IdentityConflict",
    "Initiator",
    "JPDAAssociator",
    "KalmanPredictor",
    "KalmanUpdater",
    "MOfNInitiator",
    "MeasurementModel",
    "MessageConverter",
    "MissesDeleter",
    "MotionModel",
    "MultiTargetTracker",
    "PolarMeasurement",
    "PositionMeasurement",
    "Predictor",
    "Rejection",
    "RevisitDeleter",
    "RevisitInitiator",
    "RevisitModel",
    "SensorScan",
    "SetDistance",
    "TrackBatch",
    "TrackingStage",
    "Updater",
    "VelocityMeasurement",
    "convert_polar",
    "default_imm_models",
    "default_tracker",
    "evaluate",
    "set_distance",
    "tracks_to_messages",
]
