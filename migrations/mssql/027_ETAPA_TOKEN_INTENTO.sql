-- 027_ETAPA_TOKEN_INTENTO
-- The attempt a stage's state belongs to (issue 19). Each attempt of a stage sends a token of its own
-- (a random hex id, made once per attempt by fondos.pipeline.proceso) with EN_PROGRESO and with its
-- outcome. When the connection is lost right after such a call commits, the caller cannot know it
-- committed and sends it again: logs.sp_Actualizar_Estado_Etapa now recognises its own resend (the
-- same token and the same state already stored) and changes nothing, where it used to count the
-- attempt twice and write a false "attempt N was interrupted" note (EN_PROGRESO), or refuse the OK
-- of a stage already OK. NULL for rows written before, and by callers that send no token.
-- A nullable column with no default: a metadata-only change, no row is rewritten.

IF COL_LENGTH(N'logs.Ejecucion_Etapas', N'TokenIntento') IS NULL
    ALTER TABLE logs.Ejecucion_Etapas ADD TokenIntento VARCHAR(64) NULL;
GO
