# Extra reference values for tests/test_multilevel.py and tests/test_glmm.py, beyond the shared
# metafor-dependence.json / metafor-glmm.json: metafor's weights(), test = "t", predict() after
# robust(), the ML fit made robust, and rma.glmm on small ketamine-like trials (n = 7 to 20,
# 0% and 100% responders) and with test = "t".
#
# Run: Rscript tests/data/make_metafor_extra.R > tests/data/metafor-extra.json
# (R 4.2.2, metafor 3.8-1, lme4 1.1-31, clubSandwich 0.5.8, jsonlite 1.8.4)
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
dep <- fromJSON("tests/data/metafor-dependence.json", simplifyVector = TRUE)$dependence$multilevel

mv_record <- function(res) {
  pr <- predict(res)
  list(estimate = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
       df = num(res$ddf), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
       pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), sigma2 = num(res$sigma2),
       weights_pct = num(weights(res)))
}

multilevel <- list()
for (name in names(dep)) {
  d <- dep[[name]]
  dat <- data.frame(yi = d$yi, vi = d$vi, study = d$study, es_id = d$es_id)
  out <- list()
  for (method in c("REML", "ML")) {
    for (test in c("z", "t")) {
      res <- rma.mv(yi, vi, random = ~ 1 | study/es_id, data = dat, method = method, test = test)
      rec <- mv_record(res)
      if (test == "z") {
        rec$robust_CR1 <- mv_record(robust(res, cluster = dat$study))
        rec$robust_CR0 <- mv_record(robust(res, cluster = dat$study, adjust = FALSE))
        rec$robust_CR2 <- mv_record(robust(res, cluster = dat$study, clubSandwich = TRUE))
      }
      out[[paste(method, test, sep = "_")]] <- rec
    }
  }
  multilevel[[name]] <- list(call = "rma.mv(yi, vi, random = ~ 1 | study/es_id, method, test); predict(); weights(); robust(res, cluster = study[, adjust = FALSE][, clubSandwich = TRUE])",
                             fits = out)
}

# a constructed three-level dataset whose between-study variance is estimated at the boundary
# (the study means agree more than their sampling error suggests)
bnd <- data.frame(
  study = rep(c("s1", "s2", "s3", "s4", "s5"), times = c(3, 2, 4, 1, 2)),
  yi = c(0.10, 0.62, 0.35, 0.05, 0.70, 0.48, 0.12, 0.60, 0.21, 0.40, 0.02, 0.75),
  vi = c(0.010, 0.012, 0.011, 0.015, 0.010, 0.020, 0.012, 0.011, 0.013, 0.010, 0.014, 0.016))
bnd$es_id <- seq_len(nrow(bnd))
bout <- list()
for (method in c("REML", "ML")) {
  res <- rma.mv(yi, vi, random = ~ 1 | study/es_id, data = bnd, method = method)
  rec <- mv_record(res)
  rec$logLik <- num(logLik(res))
  rec$robust_CR2 <- mv_record(robust(res, cluster = bnd$study, clubSandwich = TRUE))
  bout[[method]] <- rec
}
multilevel[["boundary_study"]] <- list(
  study = bnd$study, yi = bnd$yi, vi = bnd$vi, es_id = as.character(bnd$es_id),
  call = "rma.mv(yi, vi, random = ~ 1 | study/es_id, method); robust(..., clubSandwich = TRUE)",
  fits = bout)

# aggregate() at other assumed correlations (konstantopoulos2011)
d <- dep[["dat.konstantopoulos2011"]]
agg <- list()
for (rho in c(0, 0.5, 0.8)) {
  a <- aggregate(escalc(yi = d$yi, vi = d$vi), cluster = d$study, struct = "CS", rho = rho)
  agg[[sprintf("rho_%s", rho)]] <- list(rho = rho, yi = num(a$yi), vi = num(a$vi))
}

# evaluate expr, collecting R warnings instead of printing them
with_warnings <- function(expr) {
  w <- character(0)
  value <- withCallingHandlers(expr, warning = function(cond) {
    w <<- c(w, conditionMessage(cond))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = w)
}

glmm_record <- function(res) {
  pr <- predict(res)
  list(estimate = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
       df = num(res$ddf), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
       pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), tau2 = num(res$tau2),
       QE_Wld = num(res$QE.Wld), QE_LRT = num(res$QE.LRT), logLik = num(res$fit.stats["ll", "ML"]),
       deviance = num(res$fit.stats["dev", "ML"]), I2 = num(res$I2), H2 = num(res$H2))
}
tight <- list(glmerCtrl = list(optimizer = "bobyqa", tolPwrss = 1e-10,
                               optCtrl = list(rhoend = 1e-10, maxfun = 1e5)))
small <- list(
  ketamine_like = list(xi = c(0, 7, 3, 12, 5, 8), ni = c(8, 7, 10, 12, 20, 16)),
  two_studies = list(xi = c(2, 9), ni = c(10, 12)),
  boundary = list(xi = c(5, 11, 14, 21), ni = c(20, 40, 60, 80)),
  identical = list(xi = c(5, 10, 15, 20), ni = c(20, 40, 60, 80))
)
glmm <- list()
for (name in names(small)) {
  d <- small[[name]]
  fits <- list()
  for (nagq in c(7, 1)) {
    for (test in c("z", "t")) {
      fit <- try(with_warnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, nAGQ = nagq,
                                        test = test)), silent = TRUE)
      if (inherits(fit, "try-error")) {
        res <- fit
        # lme4 refuses identical proportions ("Response is constant")
        rec <- list(error = trimws(as.character(res)))
      } else {
        rt <- with_warnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, nAGQ = nagq,
                                     test = test, control = tight))
        rec <- glmm_record(fit$value)
        rec$warnings <- I(fit$warnings)
        rec$tight_control <- glmm_record(rt$value)
        rec$tight_control$warnings <- I(rt$warnings)
      }
      fits[[sprintf("ML_nAGQ%d_%s", nagq, test)]] <- rec
    }
  }
  glmm[[name]] <- list(xi = d$xi, ni = d$ni, fits = fits)
}

# rma.glmm(measure = "OR", model = "UM.FS"): zero cells, a double-zero study (left out, drop00)
or_record <- function(res) {
  pr <- predict(res)
  list(k = res$k, estimate = num(res$beta), se = num(res$se), stat = num(res$zval),
       pval = num(res$pval), df = num(res$ddf), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
       pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), tau2 = num(res$tau2),
       QE_Wld = num(res$QE.Wld), QE_LRT = num(res$QE.LRT), vt = num(res$vt),
       logLik = num(res$fit.stats["ll", "ML"]), deviance = num(res$fit.stats["dev", "ML"]),
       AIC = num(res$fit.stats["AIC", "ML"]), BIC = num(res$fit.stats["BIC", "ML"]),
       AICc = num(res$fit.stats["AICc", "ML"]), I2 = num(res$I2), H2 = num(res$H2))
}
nw <- dat.nielweise2007
two <- list(
  dat.nielweise2007 = list(ai = nw$ai, bi = nw$n1i - nw$ai, ci = nw$ci, di = nw$n2i - nw$ci),
  ketamine_rct_like = list(ai = c(4, 10, 0, 6, 1, 7), bi = c(4, 5, 12, 4, 9, 1),
                           ci = c(0, 3, 0, 2, 6, 2), di = c(7, 12, 11, 8, 3, 6))
)
glmm_or <- list()
for (name in names(two)) {
  d <- two[[name]]
  fits <- list()
  for (nagq in c(7, 1)) {
    for (test in c("z", "t")) {
      fit <- with_warnings(rma.glmm(measure = "OR", ai = d$ai, bi = d$bi, ci = d$ci,
                                    di = d$di, model = "UM.FS", nAGQ = nagq, test = test))
      rt <- with_warnings(rma.glmm(measure = "OR", ai = d$ai, bi = d$bi, ci = d$ci,
                                   di = d$di, model = "UM.FS", nAGQ = nagq, test = test,
                                   control = tight))
      rec <- or_record(fit$value)
      rec$warnings <- I(fit$warnings)
      rec$tight_control <- or_record(rt$value)
      rec$tight_control$warnings <- I(rt$warnings)
      fits[[sprintf("UM.FS_ML_nAGQ%d_%s", nagq, test)]] <- rec
    }
  }
  glmm_or[[name]] <- c(d, list(fits = fits))
}

meta <- list(R_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
             lme4_version = as.character(packageVersion("lme4")),
             clubSandwich_version = as.character(packageVersion("clubSandwich")),
             generator = "tests/data/make_metafor_extra.R")
cat(toJSON(list(meta = meta, multilevel = multilevel, aggregate_konstantopoulos2011 = agg,
                glmm = glmm, glmm_or = glmm_or), auto_unbox = TRUE,
           digits = NA, null = "null", na = "null", pretty = TRUE))
