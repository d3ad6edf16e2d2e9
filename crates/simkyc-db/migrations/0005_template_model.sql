-- Templates are tagged with the model that made them (embedder plus any adaptation applied), so
-- a server never compares templates of two different models. Every template stored before this
-- migration was made by the dlib ResNet with the built-in adaptation. `recapture_needed` marks
-- enrolled registrations whose templates are of another model and whose photos are already
-- purged: they cannot be re-enrolled and need a new live capture.
ALTER TABLE registrations ADD COLUMN template_model TEXT;
UPDATE registrations SET template_model = 'dlib-resnet-v1+adaptation-4a4e181b3089' WHERE doc_template_enc IS NOT NULL OR live_template_enc IS NOT NULL;
ALTER TABLE registrations ADD COLUMN recapture_needed INTEGER NOT NULL DEFAULT 0;
