// Every learning-rate scheduler tempo ships, for one include: Composer's schedulers
// (composer/optim/scheduler.py) with their arguments, defaults and formulas, FunctionScheduler
// for a schedule written as a function, and TorchScheduler for LibTorch's own schedulers.
//   auto cosine = std::make_shared<tempo::CosineAnnealingWithWarmupScheduler>(
//       tempo::CosineAnnealingWithWarmupSchedulerOptions("0.1dur").alpha_f(0.1));
//   TrainerOptions().schedulers({cosine}).scale_schedule_ratio(0.5) ...
// How one is applied to the optimizers and checkpointed: optim/composer_scheduler.h.
#pragma once

#include "tempo/optim/annealing_schedulers.h"
#include "tempo/optim/composer_scheduler.h"
#include "tempo/optim/function_scheduler.h"
#include "tempo/optim/schedule_time.h"
#include "tempo/optim/step_schedulers.h"
#include "tempo/optim/torch_scheduler.h"
#include "tempo/optim/warmup_schedulers.h"
